// The media archive's bytes as files in RELAY_DATA_DIR/media (Node and Deno self-hosted): each
// written to a temporary name and renamed once whole, so that a crash mid-download leaves no
// half file under the real name (the job is tried again and overwrites its leftover).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { MediaBlobs } from '../media/blobs.ts';

export function fileBlobs(dir: string): MediaBlobs {
  const ready = mkdir(dir, { recursive: true });
  const path = (key: string) => {
    if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new Error(`not a media key: ${key}`);
    return join(dir, key);
  };
  return {
    async put(key, body) {
      await ready;
      const final = path(key);
      const partial = `${final}.partial`;
      let bytes = 0;
      try {
        await body
          .pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform(chunk, controller) {
                bytes += chunk.byteLength;
                controller.enqueue(chunk);
              },
            }),
          )
          .pipeTo(Writable.toWeb(createWriteStream(partial)) as WritableStream<Uint8Array>);
        await rename(partial, final);
        return bytes;
      } catch (err) {
        await rm(partial, { force: true });
        throw err;
      }
    },
    async get(key, range) {
      const file = path(key);
      const size = await stat(file).then(
        (s) => s.size,
        () => null,
      );
      if (size === null) return null;
      const stream = createReadStream(file, range ? { start: range.start, end: range.end } : {});
      return { body: Readable.toWeb(stream) as ReadableStream<Uint8Array>, size };
    },
    async delete(key) {
      await rm(path(key), { force: true });
    },
  };
}
