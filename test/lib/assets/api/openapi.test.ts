import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { API_ROUTE_KEYS } from '../../../../lib/assets/api/routes';
import { API_ASSETS_DIR } from '../../../../lib/constructs/api-templates';
import { exampleConfig, testApp } from '../../../helpers/app';
import { buildApiStack, synthesizedRoutes } from './api-fixture';

interface OpenApiDocument {
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
  security?: unknown[];
  components: { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }> };
}

const document = JSON.parse(readFileSync(path.join(API_ASSETS_DIR, 'openapi.json'), 'utf8')) as OpenApiDocument;
const HTTP_METHODS = new Set([
  'get',
  'put',
  'post',
  'delete',
  'patch',
  'head',
  'options',
  'x-amazon-apigateway-any-method',
]);

/** "METHOD /path" of every operation of the document. */
function documentedRoutes(): string[] {
  return Object.entries(document.paths).flatMap(([route, operations]) =>
    Object.keys(operations)
      .filter((method) => HTTP_METHODS.has(method))
      .map((method) => `${method === 'x-amazon-apigateway-any-method' ? 'ANY' : method.toUpperCase()} ${route}`),
  );
}

describe('OpenAPI document (lib/assets/api/openapi.json)', () => {
  const datasets = exampleConfig().datasets.map((dataset) => dataset.name);
  const template = Template.fromStack(buildApiStack(testApp(), 'dev'));
  const synthesized = synthesizedRoutes(template);

  test('documents exactly the routes of the synthesized API, which are the route keys of routes.ts', () => {
    expect([...synthesized].sort()).toEqual([...documentedRoutes()].sort());
    expect([...synthesized].sort()).toEqual([...API_ROUTE_KEYS].sort());
  });

  test('has no per-dataset resource: every dataset route is under /v1/datasets/{dataset}', () => {
    for (const dataset of datasets) {
      expect(synthesized.filter((route) => route.includes(`/${dataset}`))).toEqual([]);
    }
  });

  test('documents the events route with both content types and the partial-failure answers', () => {
    const events = document.paths['/v1/datasets/{dataset}/events'].post as unknown as {
      requestBody: { content: Record<string, unknown> };
      responses: Record<string, unknown>;
    };
    expect(Object.keys(events.requestBody.content).sort()).toEqual(['application/json', 'application/x-ndjson']);
    expect(Object.keys(events.responses)).toEqual(expect.arrayContaining(['202', '207', '400', '404', '413', '503']));
  });

  test('requires auth on every operation and documents the JSON error answers', () => {
    expect(document.security?.length).toBeGreaterThan(0);
    for (const [route, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (!HTTP_METHODS.has(method)) continue;
        expect({ route, method, security: operation.security ?? document.security }).toEqual({
          route,
          method,
          security: expect.arrayContaining([expect.anything()]),
        });
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403']));
      }
    }
  });

  test('documents the request models the API validates (required fields and properties)', () => {
    const models = template.findResources('AWS::ApiGateway::Model');
    for (const name of ['UploadRequest', 'ExportRequest']) {
      const model = Object.values(models).find((resource) => resource.Properties.Name === name);
      const documented = document.components.schemas[name];
      expect({ name, required: documented.required }).toEqual({ name, required: model?.Properties.Schema.required });
      expect(Object.keys(documented.properties ?? {})).toEqual(
        expect.arrayContaining(Object.keys(model?.Properties.Schema.properties ?? {})),
      );
    }
  });
});
