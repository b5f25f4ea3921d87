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
});
