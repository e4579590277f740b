// A real MCP client for Keyport's end-to-end tests: the official TypeScript SDK's stdio client,
// spawning the command on our command line (`keyport mcp <url>`) as its local MCP server, as
// VS Code or Cursor would. It lists the tools, calls `whoami`, and prints one JSON line:
// {"tools": [...], "calls": [<whoami text>]}. Errors go to stderr with exit code 1.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [command, ...args] = process.argv.slice(2);
const transport = new StdioClientTransport({ command, args, env: process.env, stderr: 'inherit' });
const client = new Client({ name: 'keyport-tests-ts', version: '1.0.0' });
try {
  await client.connect(transport);
  const tools = (await client.listTools()).tools.map((t) => t.name);
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  if (result.isError) throw new Error(`whoami failed: ${JSON.stringify(result.content)}`);
  console.log(JSON.stringify({ tools, calls: [result.content[0].text] }));
  await client.close();
} catch (e) {
  console.error(e);
  process.exit(1);
}
