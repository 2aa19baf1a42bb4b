/** `node --import <kit>/harness/tools/impl-register.ts`: see impl-hooks.ts. */
import { register } from 'node:module';

register(new URL('./impl-hooks.ts', import.meta.url).href);
