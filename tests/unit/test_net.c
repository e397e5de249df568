/* Unit tests of net.c: what counts as the loopback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "notify/net.h"

static bool S_host(const char *h)
{
	return net_host_is_loopback(h, strlen(h));
}

static void hosts(void **state)
{
	(void)state;
	assert_true(S_host("localhost"));
	assert_true(S_host("LOCALHOST"));
	assert_true(S_host("127.0.0.1"));
	assert_true(S_host("127.255.0.9"));
	assert_true(S_host("::1"));
	assert_true(S_host("[::1]"));
	assert_false(S_host("127.0.0.1.evil.example"));
	assert_false(S_host("128.0.0.1"));
	assert_false(S_host("localhost.evil.example"));
	assert_false(S_host("127.1"));
	assert_false(S_host(""));
}

static void urls(void **state)
{
	(void)state;
	assert_true(net_url_is_loopback("http://127.0.0.1:8008/x"));
	assert_true(net_url_is_loopback("http://localhost/"));
	assert_true(net_url_is_loopback("http://[::1]:8080/hook"));
	assert_true(net_url_is_loopback("https://127.0.0.1"));
	assert_false(net_url_is_loopback("http://127.0.0.1.evil.example/"));
	assert_false(net_url_is_loopback("http://127.1@evil.example/"));
	assert_false(net_url_is_loopback("http://u:p@127.0.0.1/"));
	assert_false(net_url_is_loopback("http://evil.example/127.0.0.1"));
	assert_false(net_url_is_loopback("http://[::1.evil]/"));
	assert_false(net_url_is_loopback("127.0.0.1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hosts),
		cmocka_unit_test(urls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
