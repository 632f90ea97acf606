// First: before any module that parses with zod runs.
import './noEval';
import { render } from 'preact';
import { App } from './App';
import './style.css';

const root = document.getElementById('app');
if (root) render(<App />, root);
