// The relay on Cloudflare Workers (`wrangler deploy`): the same Hono app as on Node, over a store
// that keeps each Green API instance's events in that instance's Durable Object (app-store.ts,
// instance-store.ts), and an index of them all for operators (event-index.ts). The answer to
// Green API waits only for the instance object's write.
import { createRelay } from '../../app.ts';
import { apiCredentials, ConfigError, type RelayConfig } from '../../config.ts';
import { errorResponse } from '../../http.ts';
import { createDurableObjectStore } from './app-store.ts';
import { createMediaLinks, mediaLinkOptions } from '../../media/links.ts';
import { configOf, loggerFor, type Env } from './config.ts';
import { r2Blobs } from './r2-blobs.ts';

export { EventIndex } from './event-index.ts';
export { InstanceStore } from './instance-store.ts';

/** The app, built once per isolate and config. */
let relay: { config: RelayConfig; app: ReturnType<typeof createRelay>['app'] } | undefined;

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    let config: RelayConfig;
    try {
      config = configOf(env);
    } catch (err) {
      // The same message as a refused start on Node, in the Worker's log and in the answer.
      console.error(err instanceof Error ? err.message : String(err));
      return errorResponse(
        'internal',
        err instanceof ConfigError ? err.message : 'the relay configuration could not be read',
      );
    }
    if (relay?.config !== config) {
      // The Worker keeps no file to generate an admin token into: the configured one, or the
      // RELAY_ADMIN_TOKEN secret, or the admin surface stays closed.
      const adminToken = config.admin.token ?? (env.RELAY_ADMIN_TOKEN || undefined);
      relay = {
        config,
        app: createRelay({
          config: { ...config, admin: { token: adminToken } },
          store: createDurableObjectStore(env.INSTANCES, env.INDEX),
          logger: loggerFor(config),
          // Cloudflare's edge sets it to the address that connected to it.
          peerAddress: (c) => c.req.header('cf-connecting-ip'),
          adminClosedReason:
            'no admin token is configured: run `wrangler secret put RELAY_ADMIN_TOKEN` (or set admin.token in RELAY_CONFIG)',
          // configOf refuses media.archive without the MEDIA bucket and a signing key.
          media:
            config.media && env.MEDIA
              ? { blobs: r2Blobs(env.MEDIA), links: createMediaLinks(mediaLinkOptions(config.media)) }
              : undefined,
        }).app,
      };
    }
    return relay.app.fetch(request, env, ctx);
  },

  /**
   * The Cron Trigger (wrangler.toml): tells the object of each instance with API credentials to
   * reconcile it when due. The objects' alarms keep the exact times; this only makes sure an
   * object that has had no notification at all (every webhook lost) starts.
   */
  scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): void {
    const config = configOf(env);
    if (!config.reconcile) return;
    for (const [instance, entry] of Object.entries(config.instances))
      if (instance !== '*' && apiCredentials(entry))
        ctx.waitUntil(env.INSTANCES.getByName(instance).reconcileIfDue(instance));
  },
} satisfies ExportedHandler<Env>;
