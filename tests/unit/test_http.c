/* Unit tests of http.c's reading of libcurl's errors (no network): a
 * transport failure is temporary unless it is known to be permanent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "notify/http.h"

static void unknown_and_transient_failures_are_retried(void **state)
{
	(void)state;
	/* one reset HTTP/2 stream once failed an alert for good */
	assert_int_equal(http_curl_fate(CURLE_HTTP2_STREAM), NT_ETEMP);
	assert_int_equal(http_curl_fate(CURLE_HTTP2), NT_ETEMP);
	assert_int_equal(http_curl_fate(CURLE_COULDNT_CONNECT), NT_ETEMP);
	assert_int_equal(http_curl_fate(CURLE_OPERATION_TIMEDOUT), NT_ETEMP);
	assert_int_equal(http_curl_fate(CURLE_RECV_ERROR), NT_ETEMP);
	assert_int_equal(http_curl_fate(CURLE_SEND_ERROR), NT_ETEMP);
	assert_int_equal(http_curl_fate(CURLE_COULDNT_RESOLVE_PROXY), NT_ETEMP);
	assert_int_equal(http_curl_fate(CURLE_WEIRD_SERVER_REPLY), NT_ETEMP);
	assert_int_equal(http_curl_fate(9999), NT_ETEMP);
}

static void refusals_no_retry_changes_are_permanent(void **state)
{
	(void)state;
	assert_int_equal(http_curl_fate(CURLE_OK), NT_OK);
	assert_int_equal(http_curl_fate(CURLE_UNSUPPORTED_PROTOCOL), NT_EPERM);
	assert_int_equal(http_curl_fate(CURLE_URL_MALFORMAT), NT_EPERM);
	assert_int_equal(http_curl_fate(CURLE_PEER_FAILED_VERIFICATION),
			 NT_EPERM);
	assert_int_equal(http_curl_fate(CURLE_SSL_CACERT_BADFILE), NT_EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unknown_and_transient_failures_are_retried),
		cmocka_unit_test(refusals_no_retry_changes_are_permanent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
