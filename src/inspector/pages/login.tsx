// The sign-in page: a form, or a link whose token sits in the URL fragment (`/login#token=…`,
// printed at start). A fragment never reaches the server, its logs or a Referer; the page takes
// it out of the address bar and the history before posting it in the form's body.
import { Layout } from '../layout.tsx';

const SIGN_IN_SCRIPT = `
const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (token) {
  history.replaceState(null, '', location.pathname + location.search);
  const form = document.getElementById('signin');
  form.token.value = token;
  form.submit();
}
`;

export function LoginPage(props: { next: string; failed: boolean; closed: string | null }) {
  return (
    <Layout title="Sign in">
      <h1>Sign in</h1>
      {props.closed ? <p class="notice dead">The inspector is closed: {props.closed}.</p> : ''}
      {props.failed ? <p class="notice dead">That is not the admin token.</p> : ''}
      <form id="signin" method="post" action="/login">
        <input type="hidden" name="next" value={props.next} />
        <label>
          Admin token <input type="password" name="token" autocomplete="current-password" autofocus />
        </label>{' '}
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">
        The token is admin.token from the configuration, or the one the relay generated in its data folder
        (RELAY_DATA_DIR/admin-token).
      </p>
      <script dangerouslySetInnerHTML={{ __html: SIGN_IN_SCRIPT }} />
    </Layout>
  );
}
