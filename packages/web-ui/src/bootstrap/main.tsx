import '../styles.css';
import './bootstrap.css';
import { render } from 'preact';
import { setTokenKey } from '../http';
import { BootstrapApp } from './app';

setTokenKey('lwm2m-bootstrap.token');
const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(<BootstrapApp />, root);
}
