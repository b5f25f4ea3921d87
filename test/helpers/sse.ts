/** One Server-Sent Event as a client sees it, and when it arrived. */
export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
  receivedAt: number;
}

/**
 * Reads an event stream (a fetch Response with `text/event-stream`) event by event, per the SSE format: fields
 * up to a blank line, comments (heartbeats) skipped, multi-line `data` joined with newlines. Ends with the
 * stream; breaking out of the loop cancels the body.
 */
export async function* sseEvents(res: Response): AsyncGenerator<SseEvent> {
  if (res.body === null) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseBlock(block);
        if (event !== undefined) yield event;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function parseBlock(block: string): SseEvent | undefined {
  const data: string[] = [];
  const out: Partial<SseEvent> = {};
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'id') out.id = value;
    else if (field === 'event') out.event = value;
  }
  if (data.length === 0) return undefined;
  return { ...out, data: data.join('\n'), receivedAt: Date.now() };
}
