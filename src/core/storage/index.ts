export type { ObjectInfo, ObjectStore, PutResult, ReadOptions, WriteOptions } from './types.js';
export { S3ObjectStore, MULTIPART_PART_SIZE, MULTIPART_QUEUE_SIZE } from './s3-store.js';
export type { S3Credentials, S3ObjectStoreOptions } from './s3-store.js';
export { classifyS3Error, retryAfterMsFrom } from './s3-errors.js';
export type { S3ErrorContext } from './s3-errors.js';
export { LocalObjectStore } from './local-store.js';
export { LOCAL_METADATA_DIR, LOCAL_TEMP_DIR } from './local-paths.js';
export { isAbortError, objectUri, storeFailureMessage } from './store-errors.js';
export type { ObjectTarget, StoreOperation } from './store-errors.js';
export {
  createObjectStores,
  localConnectionSchema,
  s3ConnectionSchema,
  storageConnectionSchema,
  storageConnectionsSchema,
} from './connections.js';
export type {
  LocalConnection,
  S3Connection,
  StorageConnection,
  StorageConnections,
  StoreRegistry,
} from './connections.js';
export {
  accountGrantsSchema,
  assertGranted,
  bucketGrantSchema,
  bucketPatternSchema,
  grantsForAccount,
  isBucketGranted,
  matchesBucketPattern,
  storageGrantsSchema,
} from './grants.js';
export type { AccountGrants, BucketGrant, StorageGrants } from './grants.js';
export {
  GENERATED_METADATA_KEY,
  GENERATED_METADATA_VALUE,
  GRAPH_ID_METADATA_KEY,
  SOURCE_BUCKET_METADATA_KEY,
  SOURCE_KEY_METADATA_KEY,
  decodeMetadataValue,
  encodeMetadataValue,
  generatedMetadata,
  generatedOrigin,
  isGeneratedObject,
} from './generated-metadata.js';
export type { GeneratedOrigin } from './generated-metadata.js';
