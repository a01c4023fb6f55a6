// The page's entry: mounts the dashboard.
import { render } from 'preact';

import { App } from './app.js';

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
