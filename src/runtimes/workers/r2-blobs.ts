// The media archive's bytes in an R2 bucket (the MEDIA binding). R2 takes a stream only when its
// length is known, and a Worker has 128 MB of memory: a file is sent in parts of 8 MiB (a
// multipart upload), or in one put when it fits in one part.
import type { MediaBlobs } from '../../media/blobs.ts';

const PART_BYTES = 8 * 1024 * 1024;

export function r2Blobs(bucket: R2Bucket): MediaBlobs {
  return {
    async put(key, body) {
      const reader = body.getReader();
      let chunks: Uint8Array[] = [];
      let buffered = 0;
      let total = 0;
      let upload: R2MultipartUpload | undefined;
      const parts: R2UploadedPart[] = [];
      const take = () => {
        const part = new Uint8Array(buffered);
        let at = 0;
        for (const chunk of chunks) part.set(chunk, (at += chunk.byteLength) - chunk.byteLength);
        chunks = [];
        buffered = 0;
        return part;
      };
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
          buffered += value.byteLength;
          total += value.byteLength;
          if (buffered >= PART_BYTES) {
            upload ??= await bucket.createMultipartUpload(key);
            parts.push(await upload.uploadPart(parts.length + 1, take()));
          }
        }
        if (!upload) {
          await bucket.put(key, take());
          return total;
        }
        if (buffered > 0) parts.push(await upload.uploadPart(parts.length + 1, take()));
        await upload.complete(parts);
        return total;
      } catch (err) {
        await upload?.abort();
        throw err;
      }
    },
    async get(key, range) {
      const object = await bucket.get(
        key,
        range ? { range: { offset: range.start, length: range.end - range.start + 1 } } : {},
      );
      return object ? { body: object.body, size: object.size } : null;
    },
    async delete(key) {
      await bucket.delete(key);
    },
  };
}

/**
 * The archive's FileFetch on Workers: fetch, never following redirects (download.ts checks each
 * hop). A Worker cannot resolve names itself, so the policy sees literal addresses and host
 * names only; the fetch goes out from Cloudflare's network, not from the operator's.
 */
export const workersFileFetch = (url: string, init: { signal: AbortSignal }) =>
  fetch(url, { signal: init.signal, redirect: 'manual' });
