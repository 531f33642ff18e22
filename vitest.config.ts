import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    // Two files at a time on this 2-core machine (vitest's default is one less than the cores):
    // most tests wait on processes, servers and timers, not on the CPU.
    maxWorkers: 2,
    // The objects' JSON log lines in workerd (a thousand dead deliveries in the index test) say
    // nothing the assertions do not.
    onConsoleLog: (log, _type, entity) => !(entity?.project.name === 'workers' && log.startsWith('{"time"')),
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          // test/deno/ is Deno's own suite (`deno task test`); test/workers/ runs inside workerd.
          exclude: ['test/deno/**', 'test/workers/**', 'node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            // The contract asserts with node:assert; the Worker itself does not need node compatibility.
            miniflare: {
              compatibilityFlags: ['nodejs_compat'],
              bindings: {
                GREEN_API_TOKEN: 'workers-test-token',
                RELAY_ADMIN_TOKEN: 'workers-test-admin',
                // One target for messages that never answers (nothing listens on port 9), so deliveries die at once.
                RELAY_CONFIG: JSON.stringify({
                  instances: { '*': { token: '${GREEN_API_TOKEN}' } },
                  targets: [
                    {
                      name: 'crm',
                      url: 'http://127.0.0.1:9/',
                      types: ['com.green-api.message.*'],
                      retry: [],
                      circuit: false,
                    },
                  ],
                }),
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
