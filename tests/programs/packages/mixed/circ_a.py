done = False
import circ_b
done = True
