import { describe, expect, it } from 'vitest';
import { ThreadLanes, type Assignment } from './thread-lanes.ts';

const show = (a: Assignment<string>[] | undefined): string[] | undefined =>
  a?.map(({ item, group }) => `${item}@${group}`);

describe('ThreadLanes', () => {
  it('an urgent task takes the free urgent thread while every bulk thread is busy', () => {
    const lanes = new ThreadLanes<string>({ urgent: 1, bulk: 2 }, 8);
    expect(show(lanes.push('t1', false))).toEqual(['t1@bulk']);
    expect(show(lanes.push('t2', false))).toEqual(['t2@bulk']);
    expect(show(lanes.push('t3', false))).toEqual([]);
    expect(show(lanes.push('m1', true))).toEqual(['m1@urgent']);
    expect(lanes.waiting).toBe(1);
  });

  it('urgent threads never take a tagging task, even when idle', () => {
    const lanes = new ThreadLanes<string>({ urgent: 1, bulk: 1 }, 8);
    lanes.push('t1', false);
    expect(show(lanes.push('t2', false))).toEqual([]);
    expect(show(lanes.release('urgent'))).toEqual([]);
    expect(show(lanes.release('bulk'))).toEqual(['t2@bulk']);
  });

  it('an urgent task prefers a free urgent thread to a free bulk one', () => {
    const lanes = new ThreadLanes<string>({ urgent: 1, bulk: 2 }, 8);
    expect(show(lanes.push('m1', true))).toEqual(['m1@urgent']);
    expect(show(lanes.push('m2', true))).toEqual(['m2@bulk']);
  });

  it('a freed bulk thread takes waiting urgent tasks before tagging ones, FIFO within a lane', () => {
    const lanes = new ThreadLanes<string>({ urgent: 1, bulk: 1 }, 8);
    lanes.push('t1', false);
    lanes.push('m1', true);
    for (const item of ['t2', 'm2', 't3', 'm3']) lanes.push(item, item.startsWith('m'));
    expect(show(lanes.release('bulk'))).toEqual(['m2@bulk']);
    expect(show(lanes.release('urgent'))).toEqual(['m3@urgent']);
    expect(show(lanes.release('bulk'))).toEqual(['t2@bulk']);
    expect(show(lanes.release('bulk'))).toEqual(['t3@bulk']);
    expect(lanes.waiting).toBe(0);
  });

  it('without urgent threads, urgent tasks still go first (the lane order alone)', () => {
    const lanes = new ThreadLanes<string>({ urgent: 0, bulk: 1 }, 8);
    lanes.push('t1', false);
    lanes.push('t2', false);
    expect(show(lanes.push('m1', true))).toEqual([]);
    expect(show(lanes.release('bulk'))).toEqual(['m1@bulk']);
  });

  it('refuses a task that would wait beyond maxQueue of its lane, but not one a free thread takes', () => {
    const lanes = new ThreadLanes<string>({ urgent: 1, bulk: 1 }, 1);
    lanes.push('t1', false);
    expect(show(lanes.push('t2', false))).toEqual([]);
    expect(lanes.push('t3', false)).toBeUndefined();
    expect(show(lanes.push('m1', true))).toEqual(['m1@urgent']);
    // Tagging tasks fill the queue, yet an urgent task still waits: the limit is per lane.
    expect(show(lanes.push('m2', true))).toEqual([]);
    expect(lanes.push('m3', true)).toBeUndefined();
    expect(lanes.waiting).toBe(2);
  });

  it('clear hands back the waiting tasks, urgent first', () => {
    const lanes = new ThreadLanes<string>({ urgent: 0, bulk: 1 }, 8);
    for (const item of ['t1', 't2', 'm1']) lanes.push(item, item.startsWith('m'));
    expect(lanes.clear()).toEqual(['m1', 't2']);
    expect(lanes.waiting).toBe(0);
  });
});
