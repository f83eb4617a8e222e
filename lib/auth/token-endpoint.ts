import { accessName, permittedActions } from './authorization.ts';
import type { ClientIdentity, TokenAccess } from './client-auth.ts';
import { requestHost, selectRoute, type ProxyContext } from '../context.ts';
import { OciError } from '../protocol/errors.ts';
import { readForm, requestedScopes } from '../protocol/form.ts';
import { isValidRepositoryName } from '../protocol/reference.ts';

/**
 * The proxy's own token server, used when it authenticates clients itself. It accepts Docker's
 * GET form (Basic credentials, repeated `scope`) and the OAuth2 POST form containerd uses with
 * credentials (`grant_type=password`, space-separated `scope`), and grants the intersection of
 * what is asked with what the user and the upstream's rules allow — never more. As the token
 * spec says, a smaller grant is not an error.
 */
export async function handleProxyTokenRequest(context: ProxyContext, request: Request): Promise<Response> {
  const clientAuth = context.clientAuth!;
  const url = new URL(request.url);
  let identity: ClientIdentity | undefined;
  let scopes: string[];

  if (request.method === 'POST') {
    const form = await readForm(request);
    const grantType = form.get('grant_type');
    if (grantType === 'password') {
      identity = await clientAuth.checkPassword(form.get('username') ?? '', form.get('password') ?? '');
    } else if (grantType === 'refresh_token') {
      identity = await clientAuth.identify(`Bearer ${form.get('refresh_token') ?? ''}`);
    } else {
      throw new OciError(400, 'UNSUPPORTED', 'grant_type must be password or refresh_token');
    }
    scopes = requestedScopes(form.getAll('scope'));
  } else {
    identity = await clientAuth.identify(request.headers.get('authorization'));
    scopes = requestedScopes(url.searchParams.getAll('scope'));
  }
  if (!identity) {
    throw new OciError(401, 'UNAUTHORIZED', 'incorrect username or password');
  }

  const host = requestHost(request, url, context.options.trustForwardedHeaders);
  const ns = url.searchParams.get('ns');
  const access: TokenAccess[] = [];
  for (const scope of scopes) {
    const [type, ...rest] = scope.split(':');
    const actions = rest.pop();
    const name = rest.join(':');
    if (type !== 'repository' || actions === undefined || !isValidRepositoryName(name)) continue;
    const routeContext = selectRoute(context, host, ns, name);
    const permitted = routeContext ? await permittedActions(context, routeContext, identity, name) : [];
    const requested = actions.split(',');
    access.push({
      type: 'repository',
      name: routeContext ? await accessName(context, routeContext, name) : name,
      actions: permitted.filter((action) => requested.includes(action) || requested.includes('*')),
    });
  }

  const subject = identity.kind === 'user' ? identity.name : identity.kind === 'token' ? identity.subject : '';
  const { token, expiresIn, issuedAt } = await clientAuth.issueToken(subject, access);
  const body = { token, access_token: token, expires_in: expiresIn, issued_at: issuedAt.toISOString() };
  return new Response(JSON.stringify(body), {
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}
