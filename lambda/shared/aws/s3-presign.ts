/**
 * Presigned S3 URLs for the API functions (upload URLs, export downloads): a caller waits on their cold start, and a
 * presign is SigV4 over a URL, no protocol to speak. Every other S3 call goes through `@aws-sdk/client-s3` (the
 * asynchronous functions, where the SDK's load time is dwarfed by the work).
 *
 * Addressing, as the SDK does: on the public endpoint a bucket is addressed by host name
 * (`bucket.s3.<region>.amazonaws.com/key`); with a configured endpoint (a local emulator) by path (`endpoint/bucket/key`),
 * unless `forcePathStyle: false`. A bucket name that is not a plain DNS label (dots, capitals) is always addressed by
 * path: its host name would not match S3's TLS certificate. Keys are encoded segment by segment (`encodePath`).
 */
import type { GetObjectCommandInput, PutObjectCommandInput } from '@aws-sdk/client-s3';
import { AwsClient, type AwsClientOptions } from './client';
import { encodePath, presignUrl } from './sigv4';

/** `T` with the members `K` required and defined. */
type Need<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
type Location = 'Bucket' | 'Key';

export type PresignGetObjectInput = Need<
  Pick<GetObjectCommandInput, Location | 'VersionId' | 'ResponseContentDisposition' | 'ResponseContentType'>,
  Location
>;
export type PresignPutObjectInput = Need<
  Pick<
    PutObjectCommandInput,
    Location | 'ContentType' | 'ContentLength' | 'IfNoneMatch' | 'ServerSideEncryption' | 'SSEKMSKeyId'
  >,
  Location
>;

export interface PresignedPut {
  readonly url: string;
  /** Headers the PUT must carry, exactly: they are signed. */
  readonly headers: Record<string, string>;
}

export interface S3PresignerOptions extends Pick<AwsClientOptions, 'region' | 'endpoint' | 'credentials'> {
  /**
   * Address buckets by path (`endpoint/bucket/key`) rather than by host name (`bucket.endpoint/key`).
   * @default true with a configured endpoint (emulators), false with the public one
   */
  readonly forcePathStyle?: boolean;
}

/** A bucket name usable as a host label under S3's TLS certificate (no dots, no capitals). */
const HOST_LABEL_BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export class S3Presigner {
  /** Resolves region, endpoint and credentials as the other clients do; it never sends a request. */
  private readonly client: AwsClient;

  /** Nothing is read from the environment until the first presign (see {@link AwsClient}). */
  constructor(private readonly options: S3PresignerOptions = {}) {
    this.client = new AwsClient('s3', () => ({ code: 'Unused', message: 'the presigner sends no request' }), options);
  }

  /** A URL that GETs the object until it expires; `ResponseContentDisposition` sets the download's file name. */
  async presignGetObject(input: PresignGetObjectInput, expiresInSeconds: number): Promise<string> {
    return this.presign(
      'GET',
      input.Bucket,
      input.Key,
      {
        versionId: input.VersionId,
        'response-content-disposition': input.ResponseContentDisposition,
        'response-content-type': input.ResponseContentType,
      },
      {},
      expiresInSeconds,
    );
  }

  /**
   * A URL that PUTs the object until it expires. The content type, length, condition and encryption are signed
   * headers, not query parameters: the uploader must send them exactly (`headers`), so it cannot change them.
   * `ContentLength` binds the size (S3 checks the signature against the Content-Length sent); `IfNoneMatch: '*'`
   * makes the URL write once (S3 answers 412 PreconditionFailed when the key already exists).
   */
  async presignPutObject(input: PresignPutObjectInput, expiresInSeconds: number): Promise<PresignedPut> {
    const headers: Record<string, string> = {};
    if (input.ContentType !== undefined) headers['Content-Type'] = input.ContentType;
    if (input.ContentLength !== undefined) headers['Content-Length'] = String(input.ContentLength);
    if (input.IfNoneMatch !== undefined) headers['If-None-Match'] = input.IfNoneMatch;
    if (input.ServerSideEncryption !== undefined) headers['x-amz-server-side-encryption'] = input.ServerSideEncryption;
    if (input.SSEKMSKeyId !== undefined) headers['x-amz-server-side-encryption-aws-kms-key-id'] = input.SSEKMSKeyId;
    const url = await this.presign('PUT', input.Bucket, input.Key, {}, headers, expiresInSeconds);
    return { url, headers };
  }

  private async presign(
    method: 'GET' | 'PUT',
    bucket: string,
    key: string,
    query: Readonly<Record<string, string | undefined>>,
    headers: Readonly<Record<string, string>>,
    expiresInSeconds: number,
  ): Promise<string> {
    const endpoint = this.client.endpoint;
    const pathStyle = this.options.forcePathStyle ?? !this.client.isDefaultEndpoint;
    const virtualHost = !pathStyle && HOST_LABEL_BUCKET.test(bucket);
    const hostname = virtualHost ? `${bucket}.${endpoint.hostname}` : endpoint.hostname;
    const objectPath = virtualHost ? `/${encodePath(key)}` : `/${encodePath(bucket)}/${encodePath(key)}`;
    const definedQuery: Record<string, string> = {};
    for (const [name, value] of Object.entries(query)) if (value !== undefined) definedQuery[name] = value;
    return presignUrl(
      {
        method,
        protocol: endpoint.protocol === 'http:' ? 'http:' : 'https:',
        host: endpoint.port ? `${hostname}:${endpoint.port}` : hostname,
        path: `${endpoint.pathname.replace(/\/$/, '')}${objectPath}`,
        query: definedQuery,
        headers: { ...headers },
      },
      { service: 's3', region: this.client.region, credentials: await this.client.getCredentials() },
      expiresInSeconds,
    );
  }
}
