// `hasten web`: the browser app on localhost. Builds the static site when its inputs changed, then
// serves it with the cross-origin isolation headers (wasm threads need them) until Ctrl-C.

import { defineCommand } from '../command.js';
import { flag, int, json, text } from '../options.js';
import { serveSite } from '../../web/serve.js';
import { buildSite } from '../../web/site.js';

export const webCommand = defineCommand({
  path: ['web'],
  summary: 'build (if needed) and serve the browser app: sample, compare, charts and training in a tab',
  options: {
    port: int({ placeholder: 'N', min: 0, max: 65535, default: 8080, description: 'port on 127.0.0.1 (0: any free port)' }),
    host: text({ placeholder: 'HOST', default: '127.0.0.1', description: 'address to listen on' }),
    rebuild: flag({ description: 'build the site even when it is up to date' }),
    'build-only': flag({ description: 'build the site into dist/site and exit (it can be hosted anywhere static)' }),
    'no-isolation': flag({ description: 'serve without COOP/COEP (the page then runs wasm on one thread)' }),
    json: json('print { root, built, bytes, url } as JSON once the site is served (url null with --build-only)'),
  },
  details: `The site is built into dist/site; a static host must send Cross-Origin-Opener-Policy: same-origin and\nCross-Origin-Embedder-Policy: require-corp for wasm to use more than one thread.`,
  async run(values) {
    const build = await buildSite({ force: values.rebuild });
    console.error(build.built ? `built the site in ${build.seconds.toFixed(1)} s: ${build.root} (${(build.bytes / 1e6).toFixed(1)} MB)` : `the site is up to date: ${build.root}`);
    const site = values['build-only'] ? undefined : await serveSite(build.root, { port: values.port, host: values.host, isolated: !values['no-isolation'] });
    if (values.json) console.log(JSON.stringify({ root: build.root, built: build.built, bytes: build.bytes, url: site?.url ?? null }));
    if (!site) return;
    if (!values.json) console.log(`hasten web: ${site.url} (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    await site.close();
  },
});
