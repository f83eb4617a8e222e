/**
 * Helpers to check that upstream secrets never reach a client: the forms a password can take
 * on the wire, a search with context for failure messages, and a fetch rendered as text.
 */
/** The forms a username/password pair can leak in: the password, Basic values, URL-encoded. */
export function secretForms(username: string, password: string): string[] {
  const pair = `${username}:${password}`;
  return [
    password,
    encodeURIComponent(password),
    Buffer.from(pair).toString('base64'),
    Buffer.from(pair).toString('base64').replace(/=+$/, ''),
    Buffer.from(pair).toString('base64url'),
  ];
}

/** Which of `secrets` appear in `text` (with a little context for the failure message). */
export function findLeaks(text: string, secrets: Iterable<string>): string[] {
  const leaks: string[] = [];
  for (const secret of secrets) {
    if (!secret) continue;
    const at = text.indexOf(secret);
    if (at >= 0) leaks.push(`${JSON.stringify(secret.slice(0, 12))}… found: …${text.slice(Math.max(0, at - 80), at + secret.length + 40)}…`);
  }
  return leaks;
}

/** Fetches `url` and returns its status line, headers and body as one text (for leak checks). */
export async function fetchAsText(url: string, init: RequestInit = {}): Promise<{ response: Response; text: string }> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const body = init.method === 'HEAD' ? '' : await response.text();
  const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
  return { response, text: `${response.status}\n${headers}\n\n${body}` };
}
