// A Worker for test/workers-alarm.test.ts: one Durable Object class whose alarm either goes through the
// relay's alarm chain or sets the alarm itself, the way the chain guards against.
import { DurableObject } from 'cloudflare:workers';
import { createAlarmChain } from '../../../src/runtimes/workers/alarm-chain.ts';

interface Env {
  CHAINS: DurableObjectNamespace<Chain>;
}

export class Chain extends DurableObject<Env> {
  private readonly chain = createAlarmChain(this.ctx.storage);

  private count(): number {
    const runs = ((this.ctx.storage.kv.get('runs') as number | undefined) ?? 0) + 1;
    this.ctx.storage.kv.put('runs', runs);
    return runs;
  }

  override async alarm(): Promise<void> {
    const limit = this.ctx.storage.kv.get('limit') as number;
    if (this.ctx.storage.kv.get('mode') === 'raw') {
      // Asks for the next run now, from inside the handler, as the chain never does.
      if (this.count() < limit) await this.ctx.storage.setAlarm(Date.now());
      return;
    }
    // Each run asks for the next one now: the worst case of a pass that ends with more to do.
    await this.chain.run(async () => (this.count() < limit ? Date.now() : null));
  }

  async start(mode: 'chain' | 'raw', limit: number): Promise<void> {
    this.ctx.storage.kv.put('mode', mode);
    this.ctx.storage.kv.put('limit', limit);
    this.ctx.storage.kv.put('runs', 0);
    await this.chain.arm(Date.now());
  }

  /** One more run through the chain, as any request of the relay asks for one. */
  async poke(): Promise<void> {
    this.ctx.storage.kv.put('limit', ((this.ctx.storage.kv.get('runs') as number | undefined) ?? 0) + 1);
    this.ctx.storage.kv.put('mode', 'chain');
    await this.chain.arm(Date.now());
  }

  async read(): Promise<{ runs: number; alarm: number | null; now: number }> {
    return {
      runs: (this.ctx.storage.kv.get('runs') as number | undefined) ?? 0,
      alarm: await this.ctx.storage.getAlarm(),
      now: Date.now(),
    };
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/healthz') return new Response('ok');
    const chain = env.CHAINS.getByName(url.searchParams.get('name') ?? 'chain');
    if (url.pathname === '/start') {
      await chain.start(
        url.searchParams.get('mode') === 'raw' ? 'raw' : 'chain',
        Number(url.searchParams.get('limit')),
      );
      return new Response('started');
    }
    if (url.pathname === '/poke') {
      await chain.poke();
      return new Response('poked');
    }
    return Response.json(await chain.read());
  },
};
