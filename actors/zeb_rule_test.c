/*  =========================================================================
    zeb_rule_test - the self test of zeb_rule
    =========================================================================
*/

#include "zeb_actors.h"

void
zeb_rule_test (bool verbose)
{
    printf (" * zeb_rule: ");
    printf ("OK\n");
}
