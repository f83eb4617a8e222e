import { tokenGrants, userMay, type Action, type ClientIdentity } from './client-auth.ts';
import { publicOrigin, type ProxyContext, type RouteContext } from '../context.ts';
import { OciError } from '../protocol/errors.ts';
import { formatChallenge } from '../protocol/www-authenticate.ts';

/**
 * What an identity may do on a repository through an upstream: its own grants (user globs,
 * token claims, the upstream's anonymous policy) cut down by the upstream's access rules and
 * its read-only switch. Without the proxy's own authentication, the rules and the switch alone.
 */
export async function permittedActions(
  context: ProxyContext,
  routeContext: RouteContext,
  identity: ClientIdentity,
  clientName: string,
): Promise<Action[]> {
  const { route, names } = routeContext;
  const canonical = names.canonical(clientName);
  if (canonical === undefined || !route.access.allowsRepository(canonical)) return [];
  const grantedName = identity.kind === 'token' && context.clientAuth ? await accessName(context, routeContext, clientName) : '';
  const may = (action: Action): boolean => {
    if (action === 'push' && route.readOnly) return false;
    if (!context.clientAuth) return true;
    switch (identity.kind) {
      case 'anonymous':
        return action === 'pull' && route.anonymousPull;
      case 'user':
        return userMay(identity.user, action, clientName);
      case 'token':
        return tokenGrants(identity.access, action, grantedName);
    }
  };
  return (['pull', 'push'] as const).filter(may);
}

/**
 * Token access names carry the route's opaque id, so a token for one upstream's `app` is no
 * good on another's — and a token shows nothing of where the upstream is.
 */
export async function accessName(context: ProxyContext, routeContext: RouteContext, clientName: string): Promise<string> {
  return `${await context.clientAuth!.routeId(routeContext.route.name)}:${clientName}`;
}

/** The proxy's own Bearer challenge, pointing clients at its token endpoint. */
export function proxyChallenge(
  context: ProxyContext,
  request: Request,
  scope: string | undefined,
  error: 'insufficient_scope' | 'invalid_token' | undefined,
  ns: string | null,
): string {
  const realm = publicOrigin(context, request) + context.options.tokenPath + (ns ? `?ns=${encodeURIComponent(ns)}` : '');
  const params = new Map([
    ['realm', realm],
    ['service', context.clientAuth!.settings.service],
  ]);
  if (scope) params.set('scope', scope);
  if (error) params.set('error', error);
  return formatChallenge({ scheme: 'Bearer', params });
}

/**
 * Checks a registry request against the upstream's rules and the proxy's own authentication.
 * Throws the OCI error to answer: `401` with a challenge when credentials could help, `403
 * DENIED` when the rules refuse whoever asks.
 */
export async function authorizeRegistryRequest(
  context: ProxyContext,
  routeContext: RouteContext,
  request: Request,
  clientName: string,
  action: Action,
  tag: string | undefined,
  ns: string | null,
): Promise<void> {
  const { route, names } = routeContext;
  const canonical = names.canonical(clientName)!;
  if (!route.access.allowsRepository(canonical) || (tag !== undefined && !route.access.allowsTag(canonical, tag))) {
    throw new OciError(403, 'DENIED', 'access to this repository or tag is denied by the proxy', { name: clientName, tag });
  }
  if (action === 'push' && route.readOnly) {
    throw new OciError(405, 'UNSUPPORTED', 'this registry proxy is read-only', null, { allow: 'GET, HEAD' });
  }
  if (!context.clientAuth) return;

  const identity = await context.clientAuth.identify(request.headers.get('authorization'));
  const scope = `repository:${clientName}:${action === 'push' ? 'pull,push' : 'pull'}`;
  const unauthorized = (error?: 'insufficient_scope' | 'invalid_token') =>
    new OciError(401, 'UNAUTHORIZED', 'authentication required', [{ Type: 'repository', Name: clientName, Action: action }], {
      'www-authenticate': proxyChallenge(context, request, scope, error, ns),
    });
  if (!identity) throw unauthorized('invalid_token');
  if ((await permittedActions(context, routeContext, identity, clientName)).includes(action)) return;
  if (identity.kind === 'user') {
    throw new OciError(403, 'DENIED', `user ${identity.name} may not ${action} this repository`, { name: clientName });
  }
  throw unauthorized(identity.kind === 'token' ? 'insufficient_scope' : undefined);
}
