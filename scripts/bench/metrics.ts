// Measures one variant's phase from inside its child process: throughput, CPU, event-loop delay, RSS.
import { readFileSync, readdirSync } from 'node:fs';
import {
  monitorEventLoopDelay,
  performance,
  type EventLoopUtilization,
  type IntervalHistogram,
} from 'node:perf_hooks';
import { startPhaseProfile, stopPhaseProfile } from './profile.ts';
import type { LoopDelay } from './protocol.ts';

const MB = 1024 * 1024;

/** Direct and indirect child process ids of `pid` (Linux /proc; empty elsewhere). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(/\s+/)) {
          if (c !== '') {
            out.push(Number(c));
            queue.push(Number(c));
          }
        }
      } catch {
        // the thread exited meanwhile
      }
    }
  }
  return out;
}

/** Resident set size of a process in bytes from /proc, 0 if it is gone. */
export function procRss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** User + system CPU of a process (all its threads) in ms from /proc, 0 if it is gone. */
export function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/**
 * CPU (user + system) of one thread of this process in ms, from /proc/self/task/<tid>/stat; the main thread's
 * tid is the pid. Null where /proc is unavailable. Ticks of 10 ms: read it over phases of seconds.
 */
export function threadCpuMs(tid: number = process.pid): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

let harnessMsPerSec = 0;

/**
 * Main-thread CPU per second that the measuring itself costs, in this process with nothing else running: the
 * event-loop delay histogram (a libuv timer every `resolutionMs`: measured ~20 ms of CPU per second at 2 ms,
 * ~5 at 10 ms), the RSS sampler and, for queue variants, the job-count poll. Run it before the variant starts
 * anything; every later PhaseMeter subtracts it from the main thread's CPU (`harnessCpuMs`). Null without /proc.
 */
export async function calibrateHarness(
  resolutionMs: number,
  poll?: () => Promise<unknown>,
  ms = 3000,
): Promise<number | null> {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  const sampler = setInterval(() => process.memoryUsage.rss(), 100);
  histogram.enable();
  const before = threadCpuMs();
  const started = performance.now();
  while (performance.now() - started < ms) {
    await poll?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  const after = threadCpuMs();
  histogram.disable();
  clearInterval(sampler);
  if (before === null || after === null) return null;
  harnessMsPerSec = ((after - before) * 1000) / (performance.now() - started);
  return round(harnessMsPerSec);
}

function rssWithChildren(): number {
  let rss = process.memoryUsage.rss();
  for (const pid of descendants(process.pid)) rss += procRss(pid);
  return rss;
}

export interface PhaseNumbers {
  elapsedMs: number;
  cpuMs: number;
  /** CPU of the main thread alone (the event loop: S3, BullMQ, job bookkeeping); null without /proc. */
  mainThreadCpuMs: number | null;
  /**
   * The part of mainThreadCpuMs the meter's own instruments cost over the phase (see measureHarnessCost);
   * 0 when not calibrated.
   */
  harnessCpuMs: number;
  loopDelayMs: LoopDelay;
  /** Share of the phase the main thread's event loop was busy (0..1). */
  loopUtilization: number;
  peakRssMb: number;
  rssMb: { start: number; middle: number; end: number };
  /**
   * One mark per finished image, in completion order: ms since the phase started, and the peak RSS (MB) sampled
   * since the previous mark. Per-class numbers come from these (classes run in contiguous blocks).
   */
  marks: { atMs: number; peakRssMb: number }[];
}

/**
 * One measured phase. Create it after warm-up; `start()` resets the event-loop histogram and CPU baseline;
 * `progress(done)` lets it record RSS at half-way; `stop()` returns the numbers.
 */
export class PhaseMeter {
  private readonly histogram: IntervalHistogram;
  private readonly resolutionMs: number;
  private readonly total: number;
  private sampler: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private eluStart: EventLoopUtilization | undefined;
  private cpuStart: NodeJS.CpuUsage = { user: 0, system: 0 };
  private childCpuStart = 0;
  private mainCpuStart: number | null = null;
  private peakRss = 0;
  private rssStart = 0;
  private rssMiddle: number | undefined;
  private windowPeak = 0;
  private readonly marks: { atMs: number; peakRssMb: number }[] = [];

  /**
   * @param total images in the phase (for the half-way RSS sample).
   * @param resolutionMs event-loop delay sampling interval; default 2 ms.
   * @param rssEveryMs RSS sampling interval; default 100 ms.
   */
  constructor(
    total: number,
    resolutionMs = 2,
    private readonly rssEveryMs = 100,
  ) {
    this.total = total;
    this.resolutionMs = resolutionMs;
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  }

  start(): void {
    this.rssStart = rssWithChildren();
    this.peakRss = this.rssStart;
    this.windowPeak = this.rssStart;
    // Child processes are listed once here, not per sample: walking /proc/<pid>/task/*/children costs ~0.5 ms
    // of this (measured) main thread with ~25 threads. Variants start no processes during the phase.
    const children = descendants(process.pid);
    this.sampler = setInterval(() => {
      let rss = process.memoryUsage.rss();
      for (const pid of children) rss += procRss(pid);
      this.peakRss = Math.max(this.peakRss, rss);
      this.windowPeak = Math.max(this.windowPeak, rss);
    }, this.rssEveryMs);
    this.sampler.unref();
    this.histogram.reset();
    this.histogram.enable();
    this.childCpuStart = this.childrenCpuMs();
    this.cpuStart = process.cpuUsage();
    this.mainCpuStart = threadCpuMs();
    this.eluStart = performance.eventLoopUtilization();
    this.startedAt = performance.now();
    startPhaseProfile();
    // Lets the orchestrator bracket the services' CPU (s3rver, Redis) to the same phase.
    process.send?.({ phase: 'start' });
  }

  /** Call with the number of images finished so far. */
  progress(done: number): void {
    if (this.rssMiddle === undefined && done * 2 >= this.total) this.rssMiddle = rssWithChildren();
    // Sampled here too: a variant that blocks its event loop (main-thread, nsfwjs) starves the interval sampler.
    this.windowPeak = Math.max(this.windowPeak, process.memoryUsage.rss());
    // One mark per image: a poller may report several completions at once.
    const atMs = performance.now() - this.startedAt;
    while (this.marks.length < done) this.marks.push({ atMs, peakRssMb: round(this.windowPeak / MB) });
    this.windowPeak = 0;
  }

  stop(): PhaseNumbers {
    const elapsedMs = performance.now() - this.startedAt;
    const cpu = process.cpuUsage(this.cpuStart);
    const mainCpu = threadCpuMs();
    const elu = performance.eventLoopUtilization(this.eluStart);
    stopPhaseProfile();
    process.send?.({ phase: 'end' });
    const childCpu = this.childrenCpuMs() - this.childCpuStart;
    this.histogram.disable();
    if (this.sampler !== undefined) clearInterval(this.sampler);
    const end = rssWithChildren();
    this.peakRss = Math.max(this.peakRss, end);
    // The histogram records the interval between timer callbacks; the delay is what exceeds the resolution.
    const delay = (ns: number): number => Math.max(0, ns / 1e6 - this.resolutionMs);
    const h = this.histogram;
    return {
      elapsedMs,
      cpuMs: (cpu.user + cpu.system) / 1000 + childCpu,
      mainThreadCpuMs: mainCpu === null || this.mainCpuStart === null ? null : mainCpu - this.mainCpuStart,
      harnessCpuMs: (harnessMsPerSec * elapsedMs) / 1000,
      loopDelayMs: {
        p50: round(delay(h.count > 0 ? h.percentile(50) : 0)),
        p99: round(delay(h.count > 0 ? h.percentile(99) : 0)),
        max: round(delay(h.count > 0 ? h.max : 0)),
      },
      loopUtilization: round(elu.utilization, 3),
      peakRssMb: round(this.peakRss / MB),
      rssMb: {
        start: round(this.rssStart / MB),
        middle: round((this.rssMiddle ?? end) / MB),
        end: round(end / MB),
      },
      marks: this.marks,
    };
  }

  private childrenCpuMs(): number {
    let ms = 0;
    for (const pid of descendants(process.pid)) ms += procCpuMs(pid);
    return ms;
  }
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
