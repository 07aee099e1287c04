// Serving the built site on localhost: static files with the headers that make the page
// cross-origin isolated (COOP same-origin + COEP require-corp), which onnxruntime-web needs to run
// wasm on several threads, and the right MIME types for .wasm and .mjs.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.safetensors': 'application/octet-stream',
};

/** The isolation headers, on every response: a page is isolated only if all its resources carry them. */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
} as const;

export interface SiteServer {
  server: Server;
  url: string; // http://127.0.0.1:PORT/
  close(): Promise<void>;
}

export interface ServeOptions {
  port?: number; // 0 picks a free port
  host?: string;
  isolated?: boolean; // send the isolation headers (default on; off shows the page's one-thread message)
}

/** Serves the files under `root` until closed. */
export async function serveSite(root: string, options: ServeOptions = {}): Promise<SiteServer> {
  const { port = 8080, host = '127.0.0.1', isolated = true } = options;
  const server = createServer((request, response) => {
    const headers: Record<string, string> = isolated ? { ...ISOLATION_HEADERS } : {};
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
      response.writeHead(403, headers).end('forbidden');
      return;
    }
    stat(file).then(
      (info) => {
        if (!info.isFile()) throw new Error('not a file');
        response.writeHead(200, { ...headers, 'content-type': MIME_TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': info.size, 'cache-control': 'no-cache' });
        if (request.method === 'HEAD') response.end();
        else createReadStream(file).pipe(response);
      },
      () => response.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end(`not found: ${path}`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is in use; choose another with --port`) : error));
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}/`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
