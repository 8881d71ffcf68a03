/*-------------------------------------------------------------------------
 *
 * sanitize_preload.c
 *		Preloaded after the AddressSanitizer runtime by test/sanitize.sh, so
 *		that the runtime initializes before a library constructor holds a
 *		glibc lock it needs.
 *
 * The ASan runtime initializes on the first malloc.  In postgres the first
 * one comes from libgpg-error's constructor, inside bindtextdomain() with
 * glibc's gettext lock held for writing, and the runtime's initialization
 * calls dlerror(), which takes the same lock to translate its message: the
 * process hangs before main().  This bindtextdomain() allocates (and so
 * initializes the runtime) before passing the call on to glibc's.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

char	   *bindtextdomain(const char *domainname, const char *dirname);

char *
bindtextdomain(const char *domainname, const char *dirname)
{
	static char *(*next) (const char *, const char *) = NULL;
	void	   *volatile p = malloc(1);

	free(p);
	if (next == NULL)
		next = (char *(*) (const char *, const char *)) dlsym(RTLD_NEXT, "bindtextdomain");
	return next(domainname, dirname);
}
