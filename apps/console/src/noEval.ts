import { z } from 'zod';

// The backend serves the console with a Content-Security-Policy that forbids eval; zod (through
// core) would otherwise probe `new Function` on its first parse, and the browser reports that.
z.config({ jitless: true });
