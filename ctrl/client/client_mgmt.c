/*
 * client_mgmt.c - owns the client's part of the management interface
 * (ctrl/mgmt.h): the wait before every connection attempt while the
 * interface holds it (management-hold, `hold on`: ">HOLD:Waiting for hold
 * release:N", N the pause stock would have made) and while the
 * auth-user-pass credentials are asked for (management-query-passwords
 * with no file: ">PASSWORD:Need 'Auth' username/password"). State changes
 * reach the interface through state_subscribe (ctrl/state.h), a refused
 * password as ">PASSWORD:Verification Failed: 'Auth'".
 *
 * Thread: ctrl only. client.c asks client_mgmt_wait before the first
 * attempt and before each restart, again after every wakeup; while it
 * waits no timer of the attempt runs, and the management command that ends
 * the wait wakes ctrl.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../config/options.h"
#include "../config/runcfg.h"
#include "../mgmt.h"
#include "client_int.h"
#include "creds.h"
#include "session.h"

static void client_mgmt_attach(void *m, struct mgmt *mg)
{
	struct client *c = m;

	c->mgmt = mg;
}

bool client_mgmt_wait(struct client *c, unsigned int wait_s)
{
	const struct options *o = c->rc->opts;
	char user[256], pass[256];
	int rc;

	if (!c->hold_done) {
		c->held = mgmt_hold(c->mgmt, wait_s);
		if (c->held)
			return true;
		/* Released (or never held): not again for this attempt. */
		c->hold_done = true;
	}
	if (o->has_auth_user_pass && !o->auth_user_pass.data && creds_user_pass_needed(o)) {
		rc = mgmt_user_pass(c->mgmt, "Auth", user, sizeof(user), pass, sizeof(pass));
		if (rc == -EAGAIN) {
			c->held = true;
			return true;
		}
		if (!rc)
			creds_user_pass_set(user, pass);
		OPENSSL_cleanse(pass, sizeof(pass));
	}
	c->held = false;
	c->hold_done = false;
	return false;
}

const struct mgmt_mode_ops client_mgmt_ops = {
	.attach = client_mgmt_attach,
};
