import fs from 'node:fs';
import path from 'node:path';

/** The project root (where package.json is), whether running from src/ (tsx) or dist/ (built). */
export const projectRoot = (() => {
  let dir = import.meta.dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + import.meta.dirname);
    dir = parent;
  }
  return dir;
})();
