import { render } from 'preact';
import './styles.css';
import { html } from './ui/common.js';
import { App } from './ui/shell.js';

render(html`<${App} />`, document.getElementById('app'));
