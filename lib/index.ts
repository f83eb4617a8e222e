export { createRegistryProxy, type FetchHandler } from './handler.ts';
export { RegistryProxyOptionsError } from './options/error.ts';
export type {
  AccessRule,
  ClientAuthOptions,
  ProxyUser,
  RedirectPolicy,
  RegistryProxyOptions,
  RegistryProxyTimeouts,
  UpstreamCredentials,
  UpstreamCredentialsProvider,
  UpstreamRoute,
  UpstreamSettings,
} from './options/types.ts';
export { OciError, ociErrorResponse, type OciErrorCode } from './protocol/errors.ts';
export { withRequestLog, type RequestLogEntry } from './request-log.ts';
export { GUARDED_BODY } from './upstream/guarded-body.ts';
