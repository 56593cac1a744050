/**
 * Amazon S3 (REST-XML) over {@link AwsClient}: the object operations the functions call, with the SDK's member names
 * (see ./client.ts for why the SDK client is not used at run time).
 *
 * Addressing: on the public endpoint a bucket is addressed by host name (`bucket.s3.<region>.amazonaws.com/key`,
 * "virtual-hosted style", as the SDK does); with a configured endpoint (a local emulator) by path
 * (`endpoint/bucket/key`), unless `forcePathStyle: false`. A bucket name that is not a plain DNS label (dots, capitals)
 * is always addressed by path: its host name would not match S3's TLS certificate. Keys are encoded segment by segment
 * (`encodePath`), so `=`, `+`, spaces and any Unicode survive.
 *
 * Errors are {@link AwsServiceError}s named after S3's error code (`NoSuchKey`, `AccessDenied` ...). A HEAD answer has
 * no body, so its error is named after the status, as the SDK does (404: `NotFound`). CopyObject, UploadPartCopy and
 * CompleteMultipartUpload can fail after S3 has answered 200: such an answer (an `<Error>` body, or no body) is an
 * error too, with status 503 so that it is retried (the SDK's throw200Exceptions does the same).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type {
  _Object,
  AbortMultipartUploadCommandInput,
  CompleteMultipartUploadCommandInput,
  CompleteMultipartUploadCommandOutput,
  CopyObjectCommandInput,
  CopyObjectCommandOutput,
  CreateMultipartUploadCommandInput,
  CreateMultipartUploadCommandOutput,
  GetObjectCommandInput,
  GetObjectCommandOutput,
  HeadObjectCommandInput,
  ListObjectsV2CommandInput,
  ListObjectsV2CommandOutput,
  PutObjectCommandInput,
  PutObjectCommandOutput,
  UploadPartCommandInput,
  UploadPartCommandOutput,
  UploadPartCopyCommandInput,
  UploadPartCopyCommandOutput,
} from '@aws-sdk/client-s3';
import { AwsClient, type AwsClientOptions, type AwsRequest, type AwsResponse, type ErrorParser } from './client';
import { encodePath, presignUrl } from './sigv4';

// --------------------------------------------------------------------------------------------------------------------
// A tiny XML reader: S3's answers are small, flat documents of which a few fields are needed.
// --------------------------------------------------------------------------------------------------------------------

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Text content as written in XML -> the text: the five predefined entities and numeric character references. */
export function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name[0] !== '#') return XML_ENTITIES[name] ?? whole;
    const codePoint = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
    return codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : whole;
  });
}

/** Text -> XML text content. */
export function encodeXmlText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/**
 * The inner XML of every `<tag>` element, in document order (`<tag/>` gives ''). For S3's flat answers only: an element
 * must not contain another of the same name, and there is no CDATA or comment to skip.
 */
export function xmlElements(xml: string, tag: string): string[] {
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*?)?(?:/>|>([\\s\\S]*?)</${tag}\\s*>)`, 'g');
  return [...xml.matchAll(pattern)].map((match) => match[1] ?? '');
}

/** The decoded text of the first `<tag>` element, or undefined when there is none. */
export function xmlValue(xml: string, tag: string): string | undefined {
  const [inner] = xmlElements(xml, tag);
  return inner === undefined ? undefined : decodeXmlText(inner);
}

function xmlNumber(xml: string, tag: string): number | undefined {
  const text = xmlValue(xml, tag);
  return text === undefined || text === '' ? undefined : Number(text);
}

function xmlDate(xml: string, tag: string): Date | undefined {
  const text = xmlValue(xml, tag);
  return text ? new Date(text) : undefined;
}

// --------------------------------------------------------------------------------------------------------------------
// Errors
// --------------------------------------------------------------------------------------------------------------------

export interface S3ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly requestId?: string;
}

/** `<Error><Code>…</Code><Message>…</Message><RequestId>…</RequestId></Error>`, or undefined when it is not one. */
export function readS3Error(xml: string): S3ErrorBody | undefined {
  const [error] = xmlElements(xml, 'Error');
  if (error === undefined) return undefined;
  const code = xmlValue(error, 'Code');
  if (!code) return undefined;
  return { code, message: xmlValue(error, 'Message') ?? '', requestId: xmlValue(error, 'RequestId') };
}

/** Error names of answers without a body (HEAD), by status, as S3 documents them (the SDK names 404 `NotFound`). */
const STATUS_ERRORS: Readonly<Record<number, string>> = {
  301: 'PermanentRedirect',
  304: 'NotModified',
  307: 'TemporaryRedirect',
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  412: 'PreconditionFailed',
  416: 'InvalidRange',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

export const parseS3Error: ErrorParser = (response) => {
  const error = readS3Error(response.body.toString('utf8'));
  if (error) return { code: error.code, message: error.message };
  const code = STATUS_ERRORS[response.statusCode] ?? `Http${response.statusCode}`;
  return { code, message: `${code} (HTTP ${response.statusCode}, no error document)` };
};

/**
 * CopyObject, UploadPartCopy and CompleteMultipartUpload: S3 answers 200 as soon as it starts working, and reports a
 * later failure in the body. An `<Error>` body, or none at all, becomes a 503 answer, so the call fails and is
 * retried like the SDK does.
 */
export function failedDespite200(response: AwsResponse): AwsResponse {
  if (response.body.length === 0) {
    const body = Buffer.from(
      '<Error><Code>InternalError</Code><Message>S3 aborted the request (200 with an empty body)</Message></Error>',
    );
    return { ...response, statusCode: 503, body };
  }
  const start = response.body.subarray(0, 256).toString('utf8');
  return /^\s*(?:<\?xml[^>]*\?>\s*)?<Error[\s>]/.test(start) ? { ...response, statusCode: 503 } : response;
}

// --------------------------------------------------------------------------------------------------------------------
// Inputs and outputs: the SDK's, restricted to the members sent and read here.
// --------------------------------------------------------------------------------------------------------------------

/** `T` with the members `K` required and defined. */
type Need<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
type Location = 'Bucket' | 'Key';
/** Object attributes set on write (headers). */
type ObjectAttributes =
  | 'ContentType'
  | 'ContentDisposition'
  | 'ContentEncoding'
  | 'CacheControl'
  | 'ServerSideEncryption'
  | 'SSEKMSKeyId'
  | 'BucketKeyEnabled'
  | 'Metadata';

export type GetObjectInput = Need<Pick<GetObjectCommandInput, Location | 'VersionId' | 'Range'>, Location>;
export type GetObjectOutput = Pick<
  GetObjectCommandOutput,
  | 'ContentLength'
  | 'ContentType'
  | 'ContentEncoding'
  | 'ContentDisposition'
  | 'ContentRange'
  | 'ETag'
  | 'LastModified'
  | 'VersionId'
  | 'Metadata'
> & {
  /** The object's bytes, streamed: read it to the end or destroy it (it holds a connection). */
  readonly Body: Readable;
};
export type HeadObjectInput = Need<Pick<HeadObjectCommandInput, Location | 'VersionId'>, Location>;
export type HeadObjectOutput = Omit<GetObjectOutput, 'Body' | 'ContentRange'>;
export type PutObjectInput = Need<Pick<PutObjectCommandInput, Location | ObjectAttributes>, Location> & {
  readonly Body?: Buffer | string;
};
export type PutObjectOutput = Pick<PutObjectCommandOutput, 'ETag' | 'VersionId'>;
export type CopyObjectInput = Need<
  Pick<CopyObjectCommandInput, Location | 'CopySource' | 'MetadataDirective' | ObjectAttributes>,
  Location | 'CopySource'
>;
export type CopyObjectOutput = Pick<CopyObjectCommandOutput, 'CopyObjectResult' | 'VersionId' | 'CopySourceVersionId'>;
export type CreateMultipartUploadInput = Need<
  Pick<CreateMultipartUploadCommandInput, Location | ObjectAttributes>,
  Location
>;
export type CreateMultipartUploadOutput = Need<Pick<CreateMultipartUploadCommandOutput, 'UploadId'>, 'UploadId'>;
export type UploadPartInput = Need<
  Pick<UploadPartCommandInput, Location | 'UploadId' | 'PartNumber'>,
  Location | 'UploadId' | 'PartNumber'
> & { readonly Body: Buffer | string };
export type UploadPartOutput = Pick<UploadPartCommandOutput, 'ETag'>;
export type UploadPartCopyInput = Need<
  Pick<UploadPartCopyCommandInput, Location | 'UploadId' | 'PartNumber' | 'CopySource' | 'CopySourceRange'>,
  Location | 'UploadId' | 'PartNumber' | 'CopySource'
>;
export type UploadPartCopyOutput = Pick<UploadPartCopyCommandOutput, 'CopyPartResult' | 'CopySourceVersionId'>;
export type CompleteMultipartUploadInput = Need<
  Pick<CompleteMultipartUploadCommandInput, Location | 'UploadId'>,
  Location | 'UploadId'
> & { readonly MultipartUpload: { readonly Parts: readonly { PartNumber?: number; ETag?: string }[] } };
export type CompleteMultipartUploadOutput = Pick<
  CompleteMultipartUploadCommandOutput,
  'ETag' | 'Location' | 'VersionId' | 'Bucket' | 'Key'
>;
export type AbortMultipartUploadInput = Need<
  Pick<AbortMultipartUploadCommandInput, Location | 'UploadId'>,
  Location | 'UploadId'
>;
export type ListObjectsV2Input = Need<
  Pick<ListObjectsV2CommandInput, 'Bucket' | 'Prefix' | 'ContinuationToken' | 'MaxKeys' | 'StartAfter'>,
  'Bucket'
>;
export type ListedObject = Pick<_Object, 'Key' | 'Size' | 'ETag' | 'LastModified' | 'StorageClass'>;
export type ListObjectsV2Output = Pick<
  ListObjectsV2CommandOutput,
  'IsTruncated' | 'NextContinuationToken' | 'KeyCount'
> & {
  readonly Contents: ListedObject[];
};
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

export interface S3ClientOptions extends AwsClientOptions {
  /**
   * Address buckets by path (`endpoint/bucket/key`) rather than by host name (`bucket.endpoint/key`).
   * @default true with a configured endpoint (emulators), false with the public one
   */
  readonly forcePathStyle?: boolean;
}

/** A bucket name usable as a host label under S3's TLS certificate (no dots, no capitals). */
const HOST_LABEL_BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function numberHeader(headers: IncomingHttpHeaders, name: string): number | undefined {
  const value = header(headers, name);
  return value === undefined ? undefined : Number(value);
}

function objectMetadata(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  let metadata: Record<string, string> | undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      metadata ??= {};
      metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return metadata;
}

/** What GetObject and HeadObject answers say about the object. */
function objectOutput(headers: IncomingHttpHeaders): HeadObjectOutput & Pick<GetObjectOutput, 'ContentRange'> {
  const lastModified = header(headers, 'last-modified');
  return {
    ContentLength: numberHeader(headers, 'content-length'),
    ContentType: header(headers, 'content-type'),
    ContentEncoding: header(headers, 'content-encoding'),
    ContentDisposition: header(headers, 'content-disposition'),
    ContentRange: header(headers, 'content-range'),
    ETag: header(headers, 'etag'),
    LastModified: lastModified ? new Date(lastModified) : undefined,
    VersionId: header(headers, 'x-amz-version-id'),
    Metadata: objectMetadata(headers),
  };
}

/** The request headers of the object attributes set on write. */
function attributeHeaders(
  input: Partial<Pick<PutObjectCommandInput, ObjectAttributes>>,
): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {
    'content-type': input.ContentType,
    'content-disposition': input.ContentDisposition,
    'content-encoding': input.ContentEncoding,
    'cache-control': input.CacheControl,
    'x-amz-server-side-encryption': input.ServerSideEncryption,
    'x-amz-server-side-encryption-aws-kms-key-id': input.SSEKMSKeyId,
    'x-amz-server-side-encryption-bucket-key-enabled':
      input.BucketKeyEnabled === undefined ? undefined : String(input.BucketKeyEnabled),
  };
  for (const [name, value] of Object.entries(input.Metadata ?? {})) headers[`x-amz-meta-${name.toLowerCase()}`] = value;
  return headers;
}

export class S3Client {
  readonly client: AwsClient;

  /** Nothing is read from the environment until the first call (see {@link AwsClient}). */
  constructor(private readonly options: S3ClientOptions = {}) {
    this.client = new AwsClient('s3', parseS3Error, options);
  }

  async getObject(input: GetObjectInput): Promise<GetObjectOutput> {
    const response = await this.client.sendStream({
      method: 'GET',
      ...this.address(input.Bucket, input.Key),
      query: { versionId: input.VersionId },
      headers: { range: input.Range },
    });
    return { ...objectOutput(response.headers), Body: response.body };
  }

  async headObject(input: HeadObjectInput): Promise<HeadObjectOutput> {
    const response = await this.client.send({
      method: 'HEAD',
      ...this.address(input.Bucket, input.Key),
      query: { versionId: input.VersionId },
    });
    const { ContentRange: _range, ...output } = objectOutput(response.headers);
    return output;
  }

  async putObject(input: PutObjectInput): Promise<PutObjectOutput> {
    const response = await this.client.send({
      method: 'PUT',
      ...this.address(input.Bucket, input.Key),
      headers: attributeHeaders(input),
      body: input.Body ?? '',
    });
    return { ETag: header(response.headers, 'etag'), VersionId: header(response.headers, 'x-amz-version-id') };
  }

  /** `CopySource` is sent as given: `bucket/key` with the key URL-encoded, `?versionId=` optional (as in the SDK). */
  async copyObject(input: CopyObjectInput): Promise<CopyObjectOutput> {
    const response = await this.client.send({
      method: 'PUT',
      ...this.address(input.Bucket, input.Key),
      headers: {
        ...attributeHeaders(input),
        'x-amz-copy-source': input.CopySource,
        'x-amz-metadata-directive': input.MetadataDirective,
      },
      checkAnswer: failedDespite200,
    });
    const xml = response.body.toString('utf8');
    return {
      CopyObjectResult: { ETag: xmlValue(xml, 'ETag'), LastModified: xmlDate(xml, 'LastModified') },
      VersionId: header(response.headers, 'x-amz-version-id'),
      CopySourceVersionId: header(response.headers, 'x-amz-copy-source-version-id'),
    };
  }

  async createMultipartUpload(input: CreateMultipartUploadInput): Promise<CreateMultipartUploadOutput> {
    const response = await this.client.send({
      method: 'POST',
      ...this.address(input.Bucket, input.Key),
      query: { uploads: '' },
      headers: attributeHeaders(input),
    });
    const uploadId = xmlValue(response.body.toString('utf8'), 'UploadId');
    if (!uploadId) throw new Error(`S3 returned no UploadId for s3://${input.Bucket}/${input.Key}`);
    return { UploadId: uploadId };
  }

  async uploadPart(input: UploadPartInput): Promise<UploadPartOutput> {
    const response = await this.client.send({
      method: 'PUT',
      ...this.address(input.Bucket, input.Key),
      query: { partNumber: String(input.PartNumber), uploadId: input.UploadId },
      body: input.Body,
    });
    return { ETag: header(response.headers, 'etag') };
  }

  async uploadPartCopy(input: UploadPartCopyInput): Promise<UploadPartCopyOutput> {
    const response = await this.client.send({
      method: 'PUT',
      ...this.address(input.Bucket, input.Key),
      query: { partNumber: String(input.PartNumber), uploadId: input.UploadId },
      headers: { 'x-amz-copy-source': input.CopySource, 'x-amz-copy-source-range': input.CopySourceRange },
      checkAnswer: failedDespite200,
    });
    const xml = response.body.toString('utf8');
    return {
      CopyPartResult: { ETag: xmlValue(xml, 'ETag'), LastModified: xmlDate(xml, 'LastModified') },
      CopySourceVersionId: header(response.headers, 'x-amz-copy-source-version-id'),
    };
  }

  async completeMultipartUpload(input: CompleteMultipartUploadInput): Promise<CompleteMultipartUploadOutput> {
    const parts = input.MultipartUpload.Parts.map(
      (part) =>
        `<Part><PartNumber>${part.PartNumber}</PartNumber><ETag>${encodeXmlText(part.ETag ?? '')}</ETag></Part>`,
    );
    const response = await this.client.send({
      method: 'POST',
      ...this.address(input.Bucket, input.Key),
      query: { uploadId: input.UploadId },
      headers: { 'content-type': 'application/xml' },
      body: `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join('')}</CompleteMultipartUpload>`,
      checkAnswer: failedDespite200,
    });
    const xml = response.body.toString('utf8');
    return {
      Location: xmlValue(xml, 'Location'),
      Bucket: xmlValue(xml, 'Bucket'),
      Key: xmlValue(xml, 'Key'),
      ETag: xmlValue(xml, 'ETag'),
      VersionId: header(response.headers, 'x-amz-version-id'),
    };
  }

  async abortMultipartUpload(input: AbortMultipartUploadInput): Promise<void> {
    await this.client.send({
      method: 'DELETE',
      ...this.address(input.Bucket, input.Key),
      query: { uploadId: input.UploadId },
    });
  }

  /** One page (up to `MaxKeys`, at most 1000); continue with `NextContinuationToken` while `IsTruncated`. */
  async listObjectsV2(input: ListObjectsV2Input): Promise<ListObjectsV2Output> {
    const response = await this.client.send({
      method: 'GET',
      ...this.address(input.Bucket),
      query: {
        'list-type': '2',
        prefix: input.Prefix,
        'continuation-token': input.ContinuationToken,
        'max-keys': input.MaxKeys === undefined ? undefined : String(input.MaxKeys),
        'start-after': input.StartAfter,
      },
    });
    const xml = response.body.toString('utf8');
    const contents = xmlElements(xml, 'Contents');
    // The page's own fields, without the objects' (so that no object field is mistaken for one of them).
    const page = xml.replace(/<Contents[\s>][\s\S]*?<\/Contents\s*>/g, '');
    return {
      Contents: contents.map((object) => ({
        Key: xmlValue(object, 'Key'),
        Size: xmlNumber(object, 'Size'),
        ETag: xmlValue(object, 'ETag'),
        LastModified: xmlDate(object, 'LastModified'),
        StorageClass: xmlValue(object, 'StorageClass') as ListedObject['StorageClass'],
      })),
      IsTruncated: xmlValue(page, 'IsTruncated') === 'true',
      NextContinuationToken: xmlValue(page, 'NextContinuationToken') || undefined,
      KeyCount: xmlNumber(page, 'KeyCount') ?? contents.length,
    };
  }

  /** A URL that GETs the object until it expires; `ResponseContentDisposition` sets the download's file name. */
  async presignGetObject(input: PresignGetObjectInput, expiresInSeconds: number): Promise<string> {
    return this.presign(
      {
        method: 'GET',
        ...this.address(input.Bucket, input.Key),
        query: {
          versionId: input.VersionId,
          'response-content-disposition': input.ResponseContentDisposition,
          'response-content-type': input.ResponseContentType,
        },
      },
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
    const url = await this.presign(
      { method: 'PUT', ...this.address(input.Bucket, input.Key), headers },
      expiresInSeconds,
    );
    return { url, headers };
  }

  private async presign(request: AwsRequest, expiresInSeconds: number): Promise<string> {
    const endpoint = this.client.endpoint;
    const hostname = `${request.hostPrefix ?? ''}${endpoint.hostname}`;
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.query ?? {})) if (value !== undefined) query[name] = value;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers ?? {})) if (value !== undefined) headers[name] = value;
    return presignUrl(
      {
        method: request.method,
        protocol: endpoint.protocol === 'http:' ? 'http:' : 'https:',
        host: endpoint.port ? `${hostname}:${endpoint.port}` : hostname,
        path: `${endpoint.pathname.replace(/\/$/, '')}${request.path ?? '/'}`,
        query,
        headers,
      },
      { service: 's3', region: this.client.region, credentials: await this.client.getCredentials() },
      expiresInSeconds,
    );
  }

  /** Path and host prefix of a bucket (no key) or an object. */
  private address(bucket: string, key?: string): Pick<AwsRequest, 'path' | 'hostPrefix'> {
    const keyPath = key === undefined ? '' : `/${encodePath(key)}`;
    const pathStyle = this.options.forcePathStyle ?? !this.client.isDefaultEndpoint;
    if (!pathStyle && HOST_LABEL_BUCKET.test(bucket)) return { hostPrefix: `${bucket}.`, path: keyPath || '/' };
    return { path: `/${encodePath(bucket)}${keyPath}` };
  }
}
