// The page's entry: takes the agent's token from the URL, then mounts the dashboard.
import { render } from 'preact';

import { adoptToken } from './api.js';
import { App } from './app.js';

adoptToken();

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
