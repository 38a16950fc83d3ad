#include "zeb.h"
