#include "zeb.h"
int main (void) { return 0; }
