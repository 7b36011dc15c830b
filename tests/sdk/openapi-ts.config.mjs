// @hey-api/openapi-ts's configuration for tests/test_sdk_journeys.py: the committed schema in,
// a temporary folder out (RAPPORT_SDK_OUT), the bundled fetch client, Node ESM import paths.
export default {
  input: process.env.RAPPORT_SDK_SCHEMA ?? "../../openapi/openapi.json",
  output: { path: process.env.RAPPORT_SDK_OUT ?? "generated", importFileExtension: ".js" },
  plugins: ["@hey-api/client-fetch"],
};
