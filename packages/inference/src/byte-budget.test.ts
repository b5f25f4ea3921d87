import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byte-budget.ts';

describe('ByteBudget', () => {
  it('blocks past capacity, releases FIFO, clamps oversized requests', async () => {
    const budget = new ByteBudget(100);
    const r1 = await budget.acquire(60);
    const order: string[] = [];
    const p2 = budget.acquire(50).then((r) => (order.push('50'), r));
    const p3 = budget.acquire(10).then((r) => (order.push('10'), r));
    await new Promise((r) => setTimeout(r, 10));
    // 10 would fit, but FIFO keeps it behind the waiting 50.
    expect(order).toEqual([]);
    expect(budget.inUse).toBe(60);
    r1();
    r1(); // idempotent
    const [r2, r3] = await Promise.all([p2, p3]);
    expect(order).toEqual(['50', '10']);
    expect(budget.inUse).toBe(60);
    r2();
    r3();
    const big = await budget.acquire(10_000);
    expect(budget.inUse).toBe(100);
    big();
    expect(budget.inUse).toBe(0);
  });

  it('tryAcquire reserves only without waiting and never jumps the FIFO queue', async () => {
    const budget = new ByteBudget(100);
    const r1 = budget.tryAcquire(70);
    expect(r1).toBeDefined();
    expect(budget.tryAcquire(40)).toBeUndefined();
    expect(budget.inUse).toBe(70);
    const waiting = budget.acquire(40);
    // 20 would fit, but someone is queued.
    expect(budget.tryAcquire(20)).toBeUndefined();
    r1!();
    const r2 = await waiting;
    expect(budget.inUse).toBe(40);
    const r3 = budget.tryAcquire(60);
    expect(budget.inUse).toBe(100);
    r2();
    r3!();
    expect(budget.inUse).toBe(0);
  });

  // Capacity 100, 100 held; the requests queue in the order given, then the 100 is released: the order in which
  // they get their bytes. U = urgent, T = not urgent (tagging).
  it.each<[string, [string, number, boolean][], string[]]>([
    [
      'urgent passes queued tagging requests',
      [
        ['T1', 50, false],
        ['T2', 50, false],
        ['U1', 50, true],
      ],
      ['U1', 'T1'],
    ],
    [
      'urgent ones keep their own order',
      [
        ['T1', 40, false],
        ['U1', 30, true],
        ['U2', 30, true],
      ],
      ['U1', 'U2', 'T1'],
    ],
    [
      'tagging ones keep theirs',
      [
        ['U1', 20, true],
        ['T1', 40, false],
        ['T2', 40, false],
      ],
      ['U1', 'T1', 'T2'],
    ],
    [
      'an urgent head that does not fit holds the rest',
      [
        ['T1', 10, false],
        ['U1', 100, true],
      ],
      ['U1'],
    ],
    [
      'no urgent: FIFO as before',
      [
        ['T1', 60, false],
        ['T2', 30, false],
        ['T3', 20, false],
      ],
      ['T1', 'T2'],
    ],
  ])('urgent requests first: %s', async (_name, requests, granted) => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(100);
    const order: string[] = [];
    for (const [name, bytes, urgent] of requests) {
      void budget.acquire(bytes, { urgent }).then(() => order.push(name));
    }
    expect(budget.waiting).toBe(requests.length);
    held();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(order).toEqual(granted);
  });

  it('tryAcquire: an urgent request passes queued tagging requests, not queued urgent ones', async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(60);
    void budget.acquire(50);
    expect(budget.tryAcquire(30)).toBeUndefined();
    const urgent = budget.tryAcquire(30, { urgent: true });
    expect(urgent).toBeDefined();
    expect(budget.inUse).toBe(90);
    void budget.acquire(20, { urgent: true });
    expect(budget.tryAcquire(5, { urgent: true })).toBeUndefined();
    held();
    urgent!();
  });
});
