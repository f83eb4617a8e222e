import { ociError } from './errors.ts';

/** An OAuth2 token form is a few hundred bytes; anything far larger is not one. */
const MAX_FORM_BYTES = 64 * 1024;

/** Reads an `application/x-www-form-urlencoded` body, refusing oversized ones without buffering them. */
export async function readForm(request: Request): Promise<URLSearchParams> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_FORM_BYTES) {
    throw ociError('bodyTooLarge', `token request body over ${MAX_FORM_BYTES} bytes`);
  }
  if (!request.body) return new URLSearchParams();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_FORM_BYTES) {
      await reader.cancel();
      throw ociError('bodyTooLarge', `token request body over ${MAX_FORM_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new URLSearchParams(new TextDecoder().decode(bytes));
}

/** Every scope of a token request: repeated GET `scope` parameters or the POST form's space-separated one. */
export function requestedScopes(values: string[]): string[] {
  return values.flatMap((value) => value.split(' ')).filter((scope) => scope !== '');
}
