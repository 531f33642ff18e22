// The part of node:sqlite the Deno driver uses. The project's @types/node is Node 20's, which
// predates node:sqlite; Deno implements the module.
declare module 'node:sqlite' {
  type Value = string | number | bigint | null | Uint8Array;
  export interface StatementSync {
    run(...params: readonly unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
    all(...params: readonly unknown[]): Record<string, Value>[];
  }
  export class DatabaseSync {
    constructor(path: string);
    exec(sql: string): void;
    prepare(sql: string): StatementSync;
    close(): void;
  }
}
