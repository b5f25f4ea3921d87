import { queueOptionsSymbol, type PiscinaTask } from 'piscina';
import { describe, expect, it } from 'vitest';
import { PriorityTaskQueue, withQueueOptions } from './priority-queue.ts';

const task = (name: string, urgent?: boolean): PiscinaTask =>
  ({ name, [queueOptionsSymbol]: urgent === undefined ? null : { urgent } }) as unknown as PiscinaTask;

function drain(q: PriorityTaskQueue): string[] {
  const out: string[] = [];
  for (let t = q.shift(); t !== null; t = q.shift()) out.push(t.name);
  return out;
}

describe('PriorityTaskQueue', () => {
  it.each([
    ['all normal: FIFO', [['a'], ['b'], ['c']], ['a', 'b', 'c']],
    ['an urgent task overtakes the waiting ones', [['a'], ['b'], ['m', true], ['c']], ['m', 'a', 'b', 'c']],
    ['urgent tasks keep their order', [['a'], ['m1', true], ['b'], ['m2', true]], ['m1', 'm2', 'a', 'b']],
    ['urgent: false and no options are normal', [['a', false], ['b'], ['m', true]], ['m', 'a', 'b']],
  ] as [string, [string, boolean?][], string[]][])('%s', (_name, pushed, expected) => {
    const q = new PriorityTaskQueue();
    for (const [name, urgent] of pushed) q.push(task(name, urgent));
    expect(q.size).toBe(pushed.length);
    expect(drain(q)).toEqual(expected);
    expect(q.size).toBe(0);
  });

  it('unshift puts a task back at the head of its own lane; remove takes it out of its lane', () => {
    const q = new PriorityTaskQueue();
    const b = task('b');
    const m = task('m', true);
    q.push(task('a'));
    q.push(b);
    q.push(m);
    q.unshift(task('first', false));
    q.unshift(task('m0', true));
    q.remove(b);
    q.remove(task('not queued'));
    expect(drain(q)).toEqual(['m0', 'm', 'first', 'a']);
  });

  it('withQueueOptions marks a task without changing what the thread receives', () => {
    const t = withQueueOptions({ kind: 'classify' }, { urgent: true });
    expect((t as Record<symbol, unknown>)[queueOptionsSymbol]).toEqual({ urgent: true });
    expect(structuredClone(t)).toEqual({ kind: 'classify' });
  });
});
