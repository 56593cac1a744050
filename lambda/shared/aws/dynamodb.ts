/**
 * DynamoDB (awsJson1.0) over {@link JsonRpcClient}, as a document client: the Get/Put/Update operations of
 * `@aws-sdk/lib-dynamodb` with plain JavaScript values, marshalled to and from DynamoDB JSON here (see ./client.ts for
 * why the SDK is not used at run time).
 *
 * Marshalling follows `@aws-sdk/util-dynamodb` as lib-dynamodb configures it by default (which is how the functions
 * used it: `DynamoDBDocumentClient.from(new DynamoDBClient({}))`, no translate options):
 * - a top-level attribute that is `undefined` (in Item, Key, ExpressionAttributeValues) is left out, but `undefined`
 *   inside a map or list is an error (removeUndefinedValues is off);
 * - numbers must be finite and within ±Number.MAX_SAFE_INTEGER (bigints are sent exactly); empty strings are sent
 *   as they are; empty sets are an error; class instances (Date ...) are an error;
 * - numbers come back as `number`, or as `bigint` for integers beyond 2^53; a number that neither represents exactly
 *   is an error; binaries come back as `Uint8Array`, sets as `Set`.
 */
import type {
  GetCommandInput,
  GetCommandOutput,
  PutCommandInput,
  PutCommandOutput,
  UpdateCommandInput,
  UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { type AwsClientOptions, JsonRpcClient } from './client';

/** An attribute value in DynamoDB JSON (binaries as base64 text, numbers as decimal text). */
export type AttributeValue =
  | { readonly S: string }
  | { readonly N: string }
  | { readonly B: string }
  | { readonly BOOL: boolean }
  | { readonly NULL: true }
  | { readonly L: AttributeValue[] }
  | { readonly M: Record<string, AttributeValue> }
  | { readonly SS: string[] }
  | { readonly NS: string[] }
  | { readonly BS: string[] };

const UNDEFINED_VALUE_ERROR =
  'Pass options.removeUndefinedValues=true to remove undefined values from map/array/set. (A value inside a map or list is undefined: DynamoDB cannot store it. Fix: leave the property out, or use null)';

function isBinary(value: unknown): value is Uint8Array | ArrayBuffer | DataView {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

function binaryToBase64(value: Uint8Array | ArrayBuffer | DataView): string {
  if (value instanceof ArrayBuffer) return Buffer.from(value).toString('base64');
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
}

function numberToText(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`Special numeric value ${value} is not allowed`);
  if (value > Number.MAX_SAFE_INTEGER) {
    throw new Error(
      `Number ${value} is greater than Number.MAX_SAFE_INTEGER: it would not be stored exactly. Fix: pass it as a bigint`,
    );
  }
  if (value < Number.MIN_SAFE_INTEGER) {
    throw new Error(
      `Number ${value} is lesser than Number.MIN_SAFE_INTEGER: it would not be stored exactly. Fix: pass it as a bigint`,
    );
  }
  return String(value);
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function marshallSet(set: Set<unknown>): AttributeValue {
  if (set.has(undefined)) throw new Error(UNDEFINED_VALUE_ERROR);
  if (set.size === 0) throw new Error('Pass a non-empty set (DynamoDB stores no empty sets). Fix: leave it out');
  const items = [...set];
  const first = items[0];
  if (typeof first === 'number' || typeof first === 'bigint') {
    return { NS: items.map((item) => (typeof item === 'bigint' ? item.toString() : numberToText(item as number))) };
  }
  if (typeof first === 'string') return { SS: items.map(String) };
  if (isBinary(first)) return { BS: items.map((item) => binaryToBase64(item as Uint8Array)) };
  throw new Error('Only Number Set (NS), Binary Set (BS) or String Set (SS) are allowed.');
}

function marshallMap(entries: Iterable<[string, unknown]>): Record<string, AttributeValue> {
  const map: Record<string, AttributeValue> = {};
  for (const [key, value] of entries) {
    if (typeof value === 'function') continue;
    map[key] = marshallValue(value);
  }
  return map;
}

/** One JavaScript value as a DynamoDB attribute value (util-dynamodb's `convertToAttr`). */
export function marshallValue(value: unknown): AttributeValue {
  if (value === undefined) throw new Error(UNDEFINED_VALUE_ERROR);
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      return { N: numberToText(value) };
    case 'bigint':
      return { N: value.toString() };
    case 'boolean':
      return { BOOL: value };
    case 'object':
      break;
    default:
      throw new Error(`Unsupported type passed: ${String(value)} (${typeof value}).`);
  }
  if (Array.isArray(value)) {
    return { L: value.filter((item) => typeof item !== 'function').map((item) => marshallValue(item)) };
  }
  if (value instanceof Set) return marshallSet(value);
  if (value instanceof Map) return { M: marshallMap(value.entries()) };
  if (isBinary(value)) return { B: binaryToBase64(value) };
  if (value instanceof String) return { S: value.valueOf() };
  if (value instanceof Number) return { N: numberToText(value.valueOf()) };
  if (value instanceof Boolean) return { BOOL: value.valueOf() };
  if (isPlainObject(value)) {
    const entries: [string, unknown][] = [];
    for (const key in value) entries.push([key, (value as Record<string, unknown>)[key]]);
    return { M: marshallMap(entries) };
  }
  throw new Error(
    `Unsupported type passed: ${String(value)} (a ${value.constructor?.name ?? 'class'} instance). Fix: convert it to a plain value first (a Date to an ISO string ...)`,
  );
}

/**
 * A record of attributes (Item, Key, ExpressionAttributeValues) in DynamoDB JSON. As lib-dynamodb does, top-level
 * attributes that are `undefined` or functions are left out.
 */
export function marshall(record: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  const result: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || typeof value === 'function') continue;
    result[key] = marshallValue(value);
  }
  return result;
}

function unmarshallNumber(text: string): number | bigint {
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`DynamoDB returned a number that is not one: ${JSON.stringify(text)}`);
  if (Number.isFinite(value) && value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER) return value;
  // As util-dynamodb: integers beyond 2^53 become bigints, other numbers that large cannot be represented.
  try {
    return BigInt(text);
  } catch {
    throw new Error(
      `${text} can't be converted to BigInt, nor to a number without losing digits. Set options.wrapNumbers to get string value.`,
    );
  }
}

function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** One DynamoDB attribute value as a JavaScript value (util-dynamodb's `convertToNative`). */
export function unmarshallValue(attribute: AttributeValue): unknown {
  for (const [type, value] of Object.entries(attribute) as [string, unknown][]) {
    if (value === undefined || value === null) continue;
    switch (type) {
      case 'NULL':
        return null;
      case 'BOOL':
        return Boolean(value);
      case 'N':
        return unmarshallNumber(value as string);
      case 'B':
        return fromBase64(value as string);
      case 'S':
        return value as string;
      case 'L':
        return (value as AttributeValue[]).map(unmarshallValue);
      case 'M':
        return unmarshall(value as Record<string, AttributeValue>);
      case 'NS':
        return new Set((value as string[]).map(unmarshallNumber));
      case 'BS':
        return new Set((value as string[]).map(fromBase64));
      case 'SS':
        return new Set(value as string[]);
      default:
        throw new Error(`Unsupported type passed: ${type}`);
    }
  }
  throw new Error(`No value defined: ${JSON.stringify(attribute)}`);
}

export function unmarshall(record: Readonly<Record<string, AttributeValue>>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) result[key] = unmarshallValue(value);
  return result;
}

type WithoutMetadata<T> = Omit<T, '$metadata'>;
export type GetInput = GetCommandInput;
export type GetOutput = WithoutMetadata<GetCommandOutput>;
export type PutInput = PutCommandInput;
export type PutOutput = WithoutMetadata<PutCommandOutput>;
export type UpdateInput = UpdateCommandInput;
export type UpdateOutput = WithoutMetadata<UpdateCommandOutput>;

type Wire = Record<string, unknown>;

/** The marshalled form of the input members lib-dynamodb converts; others are sent as they are. */
function marshallInput(input: object): Wire {
  const wire: Wire = { ...input };
  for (const member of ['Key', 'Item', 'ExpressionAttributeValues']) {
    const value = wire[member];
    if (value !== undefined && value !== null) wire[member] = marshall(value as Record<string, unknown>);
  }
  for (const member of ['Expected', 'AttributeUpdates']) {
    const value = wire[member] as Record<string, Record<string, unknown>> | undefined;
    if (!value) continue;
    const converted: Wire = {};
    for (const [name, condition] of Object.entries(value)) {
      const next: Wire = { ...condition };
      if (condition.Value !== undefined) next.Value = marshallValue(condition.Value);
      if (Array.isArray(condition.AttributeValueList)) {
        next.AttributeValueList = condition.AttributeValueList.map(marshallValue);
      }
      converted[name] = next;
    }
    wire[member] = converted;
  }
  return wire;
}

/** Output members of the operations (others in an answer are dropped, as the SDK drops them). */
const GET_OUTPUT = ['Item', 'ConsumedCapacity'];
const WRITE_OUTPUT = ['Attributes', 'ConsumedCapacity', 'ItemCollectionMetrics'];

function unmarshallOutput(output: Wire, members: readonly string[]): Wire {
  const result: Wire = {};
  for (const member of members) {
    if (output[member] !== undefined && output[member] !== null) result[member] = output[member];
  }
  for (const member of ['Item', 'Attributes']) {
    const value = result[member];
    if (value) result[member] = unmarshall(value as Record<string, AttributeValue>);
  }
  const metrics = result.ItemCollectionMetrics as { ItemCollectionKey?: Record<string, AttributeValue> } | undefined;
  if (metrics?.ItemCollectionKey) {
    result.ItemCollectionMetrics = { ...metrics, ItemCollectionKey: unmarshall(metrics.ItemCollectionKey) };
  }
  return result;
}

export class DynamoDbDocumentClient {
  private readonly rpc: JsonRpcClient;

  constructor(options: AwsClientOptions = {}) {
    this.rpc = new JsonRpcClient('dynamodb', 'DynamoDB_20120810', '1.0', options);
  }

  async get(input: GetInput): Promise<GetOutput> {
    return unmarshallOutput(await this.rpc.call<Wire>('GetItem', marshallInput(input)), GET_OUTPUT) as GetOutput;
  }

  async put(input: PutInput): Promise<PutOutput> {
    return unmarshallOutput(await this.rpc.call<Wire>('PutItem', marshallInput(input)), WRITE_OUTPUT) as PutOutput;
  }

  async update(input: UpdateInput): Promise<UpdateOutput> {
    return unmarshallOutput(
      await this.rpc.call<Wire>('UpdateItem', marshallInput(input)),
      WRITE_OUTPUT,
    ) as UpdateOutput;
  }
}
