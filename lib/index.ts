export { createRegistryProxy, type FetchHandler } from './handler.ts';
export {
  RegistryProxyOptionsError,
  type RegistryProxyOptions,
  type RegistryProxyTimeouts,
  type RedirectPolicy,
  type UpstreamCredentials,
  type UpstreamCredentialsProvider,
} from './options/resolve.ts';
export { OciError, ociErrorResponse, type OciErrorCode } from './protocol/errors.ts';
export { withRequestLog, type RequestLogEntry } from './request-log.ts';
export { GUARDED_BODY } from './upstream/guarded-body.ts';
