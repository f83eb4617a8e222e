/** Records every request a mock receives, so tests can assert what reached the upstream. */

export interface RecordedRequest {
  method: string;
  url: string;
  host: string;
  path: string;
  /** Lower-case names, as fetch's Headers give them. */
  headers: Record<string, string>;
  /** Request body as text (token POST forms), when there is one. */
  body?: string;
}

export class RequestLog extends Array<RecordedRequest> {
  // Array subclasses must keep the species constructor working for map/filter.
  static override get [Symbol.species]() {
    return Array;
  }

  async record(request: Request): Promise<RecordedRequest> {
    const url = new URL(request.url);
    const entry: RecordedRequest = {
      method: request.method,
      url: request.url,
      host: url.host,
      path: url.pathname,
      headers: Object.fromEntries(request.headers.entries()),
    };
    if (request.body && request.method !== 'GET' && request.method !== 'HEAD') {
      entry.body = await request.clone().text();
    }
    this.push(entry);
    return entry;
  }

  to(host: string): RecordedRequest[] {
    return this.filter((r) => r.host === host);
  }

  withAuthorization(): RecordedRequest[] {
    return this.filter((r) => 'authorization' in r.headers);
  }

  clear(): void {
    this.length = 0;
  }
}
