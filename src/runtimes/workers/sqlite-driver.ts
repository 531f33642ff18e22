// The SqlDriver on Cloudflare Workers: a Durable Object's own SQLite (ctx.storage.sql),
// https://developers.cloudflare.com/durable-objects/api/storage-api/. Blobs go in as ArrayBuffer
// and come back as ArrayBuffer; the store port speaks Uint8Array.
import type { SqlDriver, SqlValue } from '../../store/sql-driver.ts';

const bind = (params: readonly SqlValue[]) =>
  params.map((value) =>
    value instanceof Uint8Array ? value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) : value,
  );

export function durableObjectSqlDriver(storage: DurableObjectStorage): SqlDriver {
  const { sql } = storage;
  return {
    exec: (text) => void sql.exec(text),
    run(text, params = []) {
      sql.exec(text, ...bind(params));
      // rowsWritten also counts index entries; changes() is what the store means.
      return sql.exec<{ n: number }>('SELECT changes() AS n').one().n;
    },
    all<Row>(text: string, params: readonly SqlValue[] = []) {
      return sql
        .exec(text, ...bind(params))
        .toArray()
        .map((row) => {
          for (const key in row)
            if (row[key] instanceof ArrayBuffer) (row as Record<string, unknown>)[key] = new Uint8Array(row[key]);
          return row as Row;
        });
    },
    transaction: (fn) => storage.transactionSync(fn),
  };
}
