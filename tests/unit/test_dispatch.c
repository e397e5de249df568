/* Unit tests of dispatch.c's retry schedule (no network, no clock). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>

#include "notify/dispatch.h"

static void retry_after_is_obeyed(void **state)
{
	(void)state;
	assert_int_equal(dispatch_next_at(1000, 1, 7000, 1), 1007);
	assert_int_equal(dispatch_next_at(1000, 9, 1000, 1), 1001);
	/* Matrix's retry_after_ms of 200: due again this second; the
	 * lane's pause keeps the milliseconds */
	assert_int_equal(dispatch_next_at(1000, 1, 200, 1), 1000);
}

static void backoff_doubles_with_jitter_and_a_cap(void **state)
{
	(void)state;
	for (uint64_t seed = 0; seed < 200; seed++) {
		int64_t prev_hi = 0;

		for (int attempt = 1; attempt <= 12; attempt++) {
			int64_t base = DISPATCH_BACKOFF_BASE;
			int64_t d;

			for (int i = 1; i < attempt; i++)
				base = base * 2 > DISPATCH_BACKOFF_CAP
					       ? DISPATCH_BACKOFF_CAP
					       : base * 2;
			d = dispatch_next_at(0, attempt, -1, seed);
			/* within ±25 % of the doubled delay */
			assert_true(d >= base - base / 4);
			assert_true(d <= base + base / 4);
			assert_true(d <= DISPATCH_BACKOFF_CAP * 5 / 4);
			assert_true(base + base / 4 >= prev_hi);
			prev_hi = base + base / 4;
		}
	}
}

static void jitter_spreads_a_batch(void **state)
{
	int64_t first = dispatch_next_at(0, 3, -1, 1);
	int distinct = 0;

	(void)state;
	for (uint64_t seed = 2; seed < 50; seed++)
		distinct += dispatch_next_at(0, 3, -1, seed) != first;
	assert_true(distinct > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retry_after_is_obeyed),
		cmocka_unit_test(backoff_doubles_with_jitter_and_a_cap),
		cmocka_unit_test(jitter_spreads_a_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
