// Where archived files' bytes are kept: files in RELAY_DATA_DIR/media on Node and Deno
// self-hosted (runtimes/file-blobs.ts); each runtime brings its own.

export interface MediaBlobs {
  /** Stores the stream under `key`, whole or not at all; resolves with its size, rejects when the stream fails. */
  put(key: string, body: ReadableStream<Uint8Array>): Promise<number>;
  /** The bytes from `start` to `end` (inclusive; the whole file without a range), or null when there is none. */
  get(
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ body: ReadableStream<Uint8Array>; size: number } | null>;
  delete(key: string): Promise<void>;
}
