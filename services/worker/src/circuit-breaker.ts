import { LabelqError, toLabelqError, type ErrorCode } from '@labelq/errors';
import type { Logger } from 'pino';

/** Options of a {@link CircuitBreaker}: one per dependency (S3 today, Postgres once the index uses it). */
export interface CircuitBreakerOptions {
  /** The dependency's name in logs, e.g. `s3`. */
  name: string;
  /**
   * A cheap request that succeeds when the dependency answers (S3: HeadBucket). It is given the error that
   * raised the question, so it can probe the bucket that failed. Rejects (or outlasts `probeTimeoutMs`) when
   * the dependency is down.
   */
  probe(cause: LabelqError): Promise<void>;
  /** Error codes that may mean the dependency is down (S3: `storage_unavailable`). */
  outageCodes: readonly ErrorCode[];
  /** Called when the breaker opens: stop taking work. */
  onOpen(cause: LabelqError): void;
  /** Called when a probe succeeds after an outage: take work again. */
  onClose(downForMs: number): void;
  logger: Logger;
  /** First wait between two probes while open, ms; doubled after each failed probe. Default 250. */
  initialProbeDelayMs?: number;
  /** Longest wait between two probes while open, ms. Default 10000. */
  maxProbeDelayMs?: number;
  /** A probe that has not answered within this is a failed probe, ms. Default 5000. */
  probeTimeoutMs?: number;
}

export type BreakerState = 'closed' | 'open';

/**
 * A circuit breaker for one dependency. An operation that failed with an outage-type error asks
 * {@link isOutage}: when the breaker is open the answer is yes at once; when closed, one probe (shared by all
 * failures that arrive meanwhile) decides: a failed probe opens the breaker (its `onOpen` stops intake) and
 * starts probing with exponential backoff until the dependency answers, then `onClose` resumes intake. A probe
 * that succeeds means the dependency is up and the failure belonged to that one operation (a trickling object,
 * one throttled request): it is then retried and counted like any other failure, so a job whose own source is
 * broken still ends failed instead of looping.
 */
export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #openedAt = 0;
  #cause: LabelqError | undefined;
  #pending: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #o: Required<CircuitBreakerOptions>;

  constructor(options: CircuitBreakerOptions) {
    this.#o = {
      initialProbeDelayMs: 250,
      maxProbeDelayMs: 10_000,
      probeTimeoutMs: 5000,
      ...options,
    };
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** The dependency's name (`s3`). */
  get name(): string {
    return this.#o.name;
  }

  /** While open: since when and the failure that opened it (readiness reports them). */
  get opened(): { at: Date; cause: LabelqError } | undefined {
    return this.#state === 'open' && this.#cause !== undefined
      ? { at: new Date(this.#openedAt), cause: this.#cause }
      : undefined;
  }

  /**
   * True when `err` is (part of) an outage of this dependency: the breaker is open, or it just opened because
   * a probe failed. False for other errors and when the dependency answers a probe.
   */
  async isOutage(err: LabelqError): Promise<boolean> {
    if (this.#stopped || !this.#o.outageCodes.includes(err.code)) return false;
    if (this.#state === 'open') return true;
    this.#pending ??= this.#probeOnce(err).then(
      (up) => {
        this.#pending = undefined;
        if (!up && !this.#stopped) this.#open(err);
        return !up;
      },
      () => {
        this.#pending = undefined;
        return false;
      },
    );
    return this.#pending;
  }

  /** Stops probing and never calls `onClose` again (shutdown). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #probeOnce(cause: LabelqError): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#o.probe(cause),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new LabelqError('timeout', `probe of ${this.#o.name} timed out`)),
            this.#o.probeTimeoutMs,
          );
        }),
      ]);
      return true;
    } catch (raw) {
      const e = toLabelqError(raw);
      // A probe refused for good (bucket gone, access denied) is no outage: the operator must act, and the
      // jobs fail with their own coded reasons.
      if (!e.retryable) return true;
      this.#o.logger.debug({ dependency: this.#o.name, code: e.code, err: e.message }, 'probe failed');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  #open(cause: LabelqError): void {
    this.#state = 'open';
    this.#openedAt = Date.now();
    this.#cause = cause;
    this.#o.logger.error(
      { dependency: this.#o.name, code: cause.code, err: cause.message },
      `${this.#o.name} is unreachable: pausing job intake until it answers (jobs keep their attempts)`,
    );
    this.#o.onOpen(cause);
    this.#schedule(cause, this.#o.initialProbeDelayMs);
  }

  #schedule(cause: LabelqError, delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.#probeOnce(cause).then((up) => {
        if (this.#stopped) return;
        if (!up) return this.#schedule(cause, Math.min(delayMs * 2, this.#o.maxProbeDelayMs));
        const downForMs = Date.now() - this.#openedAt;
        this.#state = 'closed';
        this.#cause = undefined;
        this.#o.logger.warn(
          { dependency: this.#o.name, downForMs },
          `${this.#o.name} answers again: resuming job intake`,
        );
        this.#o.onClose(downForMs);
      });
    }, delayMs);
    this.#timer.unref();
  }
}
