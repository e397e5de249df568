#include "notify/net.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

bool net_host_is_loopback(const char *host, size_t n)
{
	char buf[64];
	struct in_addr a;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, host, n);
	buf[n] = '\0';
	if (strcasecmp(buf, "localhost") == 0 || strcmp(buf, "::1") == 0 ||
	    strcmp(buf, "[::1]") == 0)
		return true;
	return inet_pton(AF_INET, buf, &a) == 1 &&
	       (ntohl(a.s_addr) >> 24) == 127;
}

bool net_url_is_loopback(const char *url)
{
	const char *h = strstr(url, "://");
	size_t auth, n;

	if (h == NULL)
		return false;
	h += 3;
	auth = strcspn(h, "/?#");
	if (memchr(h, '@', auth) != NULL)
		return false;
	if (h[0] == '[') /* an IPv6 literal: up to ']' */
		n = strcspn(h, "]") + 1;
	else
		n = strcspn(h, ":/?#");
	return n <= auth && net_host_is_loopback(h, n);
}
