import { LabelqError } from '@labelq/errors';

/** An API error answer: its status and coded body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A small client of the labelq API: bearer key, JSON in and out, coded errors. */
export class ApiClient {
  constructor(
    readonly base: string,
    private readonly key: string | undefined,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.key !== undefined ? { authorization: `Bearer ${this.key}` } : {}), ...extra };
  }

  async raw(
    method: string,
    path: string,
    init: { body?: string | Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.base), {
        method,
        headers: this.headers(init.headers),
        ...(init.body !== undefined ? { body: init.body, duplex: 'half' } : {}),
      });
    } catch (err) {
      throw new LabelqError(
        'queue_unavailable',
        `The API at ${this.base} is unreachable: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (!res.ok) {
      const text = await res.text();
      let code = 'internal';
      let message = text.slice(0, 500);
      try {
        const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
        code = body.error?.code ?? code;
        message = body.error?.message ?? message;
      } catch {
        // not JSON
      }
      throw new ApiError(res.status, code, `${res.status} ${code}: ${message}`);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(
      method,
      path,
      body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
    );
    return (await res.json()) as T;
  }
}
