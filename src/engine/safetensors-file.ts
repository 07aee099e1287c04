// Reading and writing safetensors files (the format: safetensors.ts).

import { open, type FileHandle } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { CheckpointError, unreadableFile } from './checkpoint-error.js';
import type { HostTensor } from './host-tensor.js';
import { HEADER_LENGTH_BYTES, type SafetensorsContents, type SafetensorsMetadata, assertLittleEndianHost, encodeSafetensors, hostTensorOf, parseHeader, readHeaderLength } from './safetensors.js';

/** Atomically writes a safetensors file (see writeFileAtomic). */
export async function saveSafetensors(path: string, tensors: Map<string, HostTensor>, metadata?: SafetensorsMetadata): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Largest single read: the OS caps one read() at about 2 GiB. */
const MAX_READ_BYTES = 1 << 30;

async function readExactly(handle: FileHandle, target: Uint8Array, position: number, source: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const length = Math.min(target.length - done, MAX_READ_BYTES);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) throw new CheckpointError(source, `truncated file: it ended while reading byte ${position + done}`);
    done += bytesRead;
  }
}

/**
 * Reads a safetensors file tensor by tensor, so files larger than a single Node buffer load and
 * peak memory is the tensors plus the largest one. Errors are CheckpointErrors naming the file.
 */
export async function loadSafetensors(path: string): Promise<SafetensorsContents> {
  assertLittleEndianHost();
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw unreadableFile(path, error, 'open');
  }
  try {
    const fileSize = (await handle.stat()).size;
    const first8 = new Uint8Array(HEADER_LENGTH_BYTES);
    if (fileSize >= HEADER_LENGTH_BYTES) await readExactly(handle, first8, 0, path);
    const headerLength = readHeaderLength(first8, fileSize, path);
    const headerBytes = new Uint8Array(headerLength);
    await readExactly(handle, headerBytes, HEADER_LENGTH_BYTES, path);
    const dataStart = HEADER_LENGTH_BYTES + headerLength;
    const { entries, metadata } = parseHeader(headerBytes, fileSize - dataStart, path);

    const scratch = new Uint8Array(entries.reduce((largest, entry) => Math.max(largest, entry.end - entry.begin), 0));
    const tensors = new Map<string, HostTensor>();
    for (const entry of entries) {
      const raw = scratch.subarray(0, entry.end - entry.begin);
      await readExactly(handle, raw, dataStart + entry.begin, path);
      tensors.set(entry.name, hostTensorOf(entry, raw));
    }
    return { tensors, metadata };
  } finally {
    await handle.close();
  }
}
