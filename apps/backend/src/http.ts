import type { IncomingMessage, ServerResponse } from 'node:http';

/** What every mountable part of the server is: it answers a request or says it is not its own. */
export interface HttpHandler {
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}
