/** msw mocks of real upstream registries; see each factory's file for the upstreams.md section it follows. */
export { dockerHub, HUB_PING_BODY, HUB_PULL_LIMIT_BODY, type DockerHubMock, type DockerHubRateLimit } from './docker-hub.ts';
export { ghcr, GHCR_UNAUTHORIZED_BODY, type GhcrMock } from './ghcr.ts';
export { gcr, type GcrMock } from './gcr.ts';
export { artifactRegistry, GOOGLE_SIGNIN, type ArtifactRegistryMock, type ArtifactRegistryOptions } from './artifact-registry.ts';
export { quay, type QuayMock } from './quay.ts';
export { ecrPublic, type EcrPublicMock } from './ecr-public.ts';
export { distribution, S3_BUCKET, type DistributionMock, type DistributionOptions } from './distribution-registry.ts';
export { registryK8s, type RegistryK8sMock } from './registry-k8s.ts';
export type { UpstreamMock } from './base.ts';
export { buildImage, buildIndex, MediaType, sha256, type BuiltImage, type BuiltIndex, type Descriptor, type Digest } from './images.ts';
export { decodeJwtClaims, parseScopes } from './tokens.ts';
export type { RecordedRequest } from './recorder.ts';
export * as fixtures from './fixtures.ts';
